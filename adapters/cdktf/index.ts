// CDK for Terraform: cdktf.out folders → claims, and an Aspect that checks at synth.
export {
  cdktfStacks,
  claimsFromCdkTfJson,
  claimsFromCdktfOut,
  isCdktfOut,
  type CdkTfJson,
  type CdktfClaimOptions,
  type CdktfStack,
} from './synth.ts';
export { EntitlegateAspect, isTerraformStack, type ConstructLike, type EntitlegateAspectOptions } from './aspect.ts';
