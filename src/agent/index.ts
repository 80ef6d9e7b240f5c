export { grpcBootstrap, type BootstrapOptions, type GrpcBootstrap } from "./bootstrap.ts";
