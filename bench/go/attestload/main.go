// attestload: warm Attest load on the plugin's gRPC unix socket from a Go
// gRPC client, as spire-agent (Go, google.golang.org/grpc, one ClientConn per
// plugin) calls it. No generated code: a codec that passes []byte through
// (grpc.ForceCodec) and a hand-encoded AttestRequest{pid} (field 1, varint).
//
//	attestload -socket /tmp/ssa-plugin-…/plugin.sock -pid 1234 \
//	    -concurrency 16 -duration 3s -count 20000 [-warmup 200] \
//	    [-expect image_binding:bound,image-signature:verified]
//	attestload -socket … -rpc health …   # Health/Check instead: the gRPC floor
//
// Bounded by -count (calls measured) and -duration (wall time), whichever
// comes first; both are capped (maxCount, maxDuration). Prints one JSON
// object on stdout: requests, errors, seconds, perSecond, p50Ms, p99Ms (and
// a few more: see report). Exit code 0 when it ran (errors are counted in
// the JSON), 2 on bad flags or when the first call fails (socket, pid).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	attestMethod = "/spire.plugin.agent.workloadattestor.v1.WorkloadAttestor/Attest"
	healthMethod = "/grpc.health.v1.Health/Check"
	// The service name go-plugin's health service answers for.
	healthService = "plugin"
	maxCount      = 1_000_000
	maxDuration   = 60 * time.Second
	maxConc       = 1024
	maxWarmup     = 100_000
)

// rawCodec passes []byte through: the request is encoded by hand and the
// response decoded by hand. Named "proto" so the content-type is the usual
// application/grpc+proto.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// encodeAttestRequest: AttestRequest{pid} (proto3: pid 0 is the empty message).
// Tag 0x08 (field 1, varint), then the int32 as a varint (a negative one is
// sign-extended to 64 bits, 10 bytes, as protobuf does).
func encodeAttestRequest(pid int32) []byte {
	if pid == 0 {
		return []byte{}
	}
	b := []byte{0x08}
	u := uint64(int64(pid))
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func readVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("bad varint")
}

// decodeSelectors: AttestResponse{repeated string selector_values = 1}.
// Unknown fields are skipped; a malformed message is an error.
func decodeSelectors(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		key, n, err := readVarint(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			_, n, err = readVarint(b)
			if err != nil {
				return nil, err
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return nil, errors.New("truncated fixed64")
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return nil, errors.New("truncated fixed32")
			}
			b = b[4:]
		case 2:
			l, n, err := readVarint(b)
			if err != nil {
				return nil, err
			}
			b = b[n:]
			if uint64(len(b)) < l {
				return nil, errors.New("truncated length-delimited field")
			}
			if field == 1 {
				out = append(out, string(b[:l]))
			}
			b = b[l:]
		default:
			return nil, fmt.Errorf("unsupported wire type %d", wire)
		}
	}
	return out, nil
}

type report struct {
	Requests     int      `json:"requests"`
	Errors       int      `json:"errors"`
	Seconds      float64  `json:"seconds"`
	PerSecond    float64  `json:"perSecond"`
	P50Ms        float64  `json:"p50Ms"`
	P99Ms        float64  `json:"p99Ms"`
	MinMs        float64  `json:"minMs"`
	MaxMs        float64  `json:"maxMs"`
	MeanMs       float64  `json:"meanMs"`
	RPC          string   `json:"rpc"`
	Concurrency  int      `json:"concurrency"`
	Warmup       int      `json:"warmup"` // calls before the measured loop: the first one and the warm-up
	Unexpected   int      `json:"unexpected"`
	FirstError   string   `json:"firstError,omitempty"`
	Selectors    []string `json:"selectors,omitempty"`
	StoppedBy    string   `json:"stoppedBy"`
	ClientCPUMs  float64  `json:"clientCpuMs"`
	ClientCPUPer float64  `json:"clientCpuMsPerAttest"`
	GoVersion    string   `json:"goVersion"`
	GOMAXPROCS   int      `json:"gomaxprocs"`
}

func cpuMs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec)*1000 + float64(t.Usec)/1000 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// Nearest-rank percentile of an ascending slice (p in (0, 100]), as
// bench/lib/stats.ts computes its p99.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// The median as bench/lib/stats.ts computes it (mean of the middle two for
// an even count).
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func round(x float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(x*f) / f
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "attestload: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	socket := flag.String("socket", "", "the plugin's gRPC unix socket (path, or unix:///path)")
	pid := flag.Int("pid", 0, "the pid to attest (AttestRequest.pid)")
	conc := flag.Int("concurrency", 1, "concurrent callers on one connection")
	dur := flag.Duration("duration", 3*time.Second, fmt.Sprintf("wall-time cap of the measured loop (at most %s)", maxDuration))
	count := flag.Int("count", 20_000, fmt.Sprintf("measured calls (at most %d)", maxCount))
	warmup := flag.Int("warmup", 200, "calls before the measured loop (not counted)")
	timeout := flag.Duration("timeout", 10*time.Second, "deadline of each call")
	rpc := flag.String("rpc", "attest", "attest (Attest{pid}), or health (Health/Check{service: plugin}: the gRPC floor, -pid ignored)")
	expect := flag.String("expect", "", "comma-separated selector values every response must contain (else counted in unexpected)")
	flag.Parse()

	if *socket == "" {
		fail("-socket is required")
	}
	if *rpc != "attest" && *rpc != "health" {
		fail("-rpc must be attest or health")
	}
	if *rpc == "health" && *pid == 0 {
		*pid = 1
	}
	if *pid <= 0 || *pid > 1<<31-1 {
		fail("-pid must be a positive int32")
	}
	if *conc < 1 || *conc > maxConc {
		fail("-concurrency must be 1..%d", maxConc)
	}
	if *count < 1 || *count > maxCount {
		fail("-count must be 1..%d", maxCount)
	}
	if *dur <= 0 || *dur > maxDuration {
		fail("-duration must be in (0, %s]", maxDuration)
	}
	if *warmup < 0 || *warmup > maxWarmup {
		fail("-warmup must be 0..%d", maxWarmup)
	}
	var want []string
	for _, s := range strings.Split(*expect, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want = append(want, s)
		}
	}
	target := *socket
	if !strings.HasPrefix(target, "unix:") {
		target = "unix://" + target
	}

	// One ClientConn (one HTTP/2 connection), as go-plugin gives the agent.
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})),
	)
	if err != nil {
		fail("dial %s: %v", target, err)
	}
	defer func() { _ = conn.Close() }()

	req := encodeAttestRequest(int32(*pid))
	// call: one Attest; its selectors, or an error (gRPC status, malformed
	// or empty response).
	call := func(resp *[]byte) ([]string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		if err := conn.Invoke(ctx, attestMethod, req, resp); err != nil {
			return nil, err
		}
		if len(*resp) == 0 {
			return nil, errors.New("empty AttestResponse")
		}
		sel, err := decodeSelectors(*resp)
		if err != nil {
			return nil, fmt.Errorf("AttestResponse: %w", err)
		}
		if len(sel) == 0 {
			return nil, errors.New("AttestResponse without selector_values")
		}
		return sel, nil
	}
	if *rpc == "health" {
		// The gRPC floor on the same socket: Health/Check{service: "plugin"}
		// (no attestation work); the answer must be SERVING (field 1 = 1).
		req = append([]byte{0x0a, byte(len(healthService))}, healthService...)
		call = func(resp *[]byte) ([]string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), *timeout)
			defer cancel()
			if err := conn.Invoke(ctx, healthMethod, req, resp); err != nil {
				return nil, err
			}
			if len(*resp) < 2 || (*resp)[0] != 0x08 {
				return nil, fmt.Errorf("HealthCheckResponse without status: %x", *resp)
			}
			st, _, err := readVarint((*resp)[1:])
			if err != nil || st != 1 {
				return nil, fmt.Errorf("HealthCheckResponse: status %d, not SERVING", st)
			}
			return []string{"SERVING"}, nil
		}
		want = nil
	}
	hasAll := func(sel []string) bool {
		for _, w := range want {
			found := false
			for _, s := range sel {
				if s == w {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}

	// The first call must succeed: otherwise the socket or the pid is wrong.
	var first []byte
	firstSel, err := call(&first)
	if err != nil {
		fail("first %s call on %s (pid %d): %v", *rpc, target, *pid, err)
	}

	// Warm-up: the connection's windows, this process's pools.
	// Bounded by -warmup calls and by -duration.
	var wIssued, wDone atomic.Int64
	var wg sync.WaitGroup
	warmUntil := time.Now().Add(*dur)
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var resp []byte
			for wIssued.Add(1) <= int64(*warmup) && time.Now().Before(warmUntil) {
				_, _ = call(&resp)
				wDone.Add(1)
			}
		}()
	}
	wg.Wait()

	type workerOut struct {
		lat        []float64
		errs       int
		unexpected int
		firstErr   string
	}
	outs := make([]workerOut, *conc)
	var issued atomic.Int64
	cpu0 := cpuMs()
	start := time.Now()
	until := start.Add(*dur)
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func(o *workerOut) {
			defer wg.Done()
			o.lat = make([]float64, 0, *count / *conc + 1)
			var resp []byte
			for issued.Add(1) <= int64(*count) {
				s := time.Now()
				if !s.Before(until) {
					return
				}
				sel, err := call(&resp)
				if err != nil {
					o.errs++
					if o.firstErr == "" {
						o.firstErr = err.Error()
					}
					continue
				}
				o.lat = append(o.lat, float64(time.Since(s).Nanoseconds())/1e6)
				if !hasAll(sel) {
					o.unexpected++
				}
			}
		}(&outs[w])
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	cpu := cpuMs() - cpu0

	r := report{RPC: *rpc, Concurrency: *conc, Warmup: int(wDone.Load()) + 1, Selectors: firstSel, GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	var all []float64
	for _, o := range outs {
		all = append(all, o.lat...)
		r.Errors += o.errs
		r.Unexpected += o.unexpected
		if r.FirstError == "" {
			r.FirstError = o.firstErr
		}
	}
	sort.Float64s(all)
	r.Requests = len(all)
	r.Seconds = round(elapsed, 3)
	if elapsed > 0 {
		r.PerSecond = round(float64(r.Requests)/elapsed, 0)
	}
	r.P50Ms = round(median(all), 4)
	r.P99Ms = round(percentile(all, 99), 4)
	if len(all) > 0 {
		sum := 0.0
		for _, x := range all {
			sum += x
		}
		r.MinMs = round(all[0], 3)
		r.MaxMs = round(all[len(all)-1], 3)
		r.MeanMs = round(sum/float64(len(all)), 3)
	}
	if r.Requests+r.Errors >= *count {
		r.StoppedBy = "count"
	} else {
		r.StoppedBy = "duration"
	}
	r.ClientCPUMs = round(cpu, 1)
	if r.Requests > 0 {
		r.ClientCPUPer = round(cpu/float64(r.Requests), 4)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(r); err != nil {
		fail("write: %v", err)
	}
}
