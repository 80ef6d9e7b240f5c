export {
  certificateProviderInstance,
  defaultCertRefreshSeconds,
  grpcBootstrap,
  type BootstrapOptions,
  type FileWatcherProvider,
  type GrpcBootstrap,
} from "./bootstrap.ts";
export { CertificateAgent, type AgentLog, type CertificateAgentOptions } from "./cert-agent.ts";
export {
  certChainFile,
  keyFile,
  rootCertFile,
  writeCertificateFiles,
  type CertificateFiles,
} from "./cert-files.ts";
export { XdsRelay, type RelayLog, type XdsRelayOptions } from "./xds-relay.ts";
