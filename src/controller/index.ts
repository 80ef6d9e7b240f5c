export { Informer, objectKey, type InformerEvent, type InformerOptions } from "./informer.ts";
