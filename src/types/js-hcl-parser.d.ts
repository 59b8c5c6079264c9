// js-hcl-parser: HashiCorp's HCL v1 Go library (github.com/hashicorp/hcl)
// compiled to JavaScript (CommonJS). `parse` runs hcl.Unmarshal and returns
// the result as indented JSON text, or an error string starting "unable to ".
declare module 'js-hcl-parser' {
  interface HclV1 {
    parse(input: string): string;
    stringify(input: string): string;
  }
  const hcl: HclV1;
  export default hcl;
}
