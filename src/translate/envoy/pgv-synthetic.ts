// Test support for the PGV validator: small descriptors built at run time, so every rule kind can
// be exercised, including those no Envoy field uses. A message pgvtest.T has one field `v` of the
// type under test carrying the rules under test.
import {
  create,
  createFileRegistry,
  setExtension,
  type DescMessage,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  MessageOptionsSchema,
  OneofOptionsSchema,
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from "@bufbuild/protobuf/wkt";
import {
  disabled,
  FieldRulesSchema,
  required,
  rules,
  type FieldRules,
} from "../../gen/validate/validate_pb.js";

/** FieldRules as an init object (never a built message, so cases can spread it). */
export type Rules = Exclude<MessageInitShape<typeof FieldRulesSchema>, FieldRules>;
export type ScalarFieldType = keyof typeof scalarTypes;
type FieldType = ScalarFieldType | "enum" | "Inner" | `google.protobuf.${string}`;

export interface Spec {
  readonly type: FieldType;
  readonly repeated?: boolean;
  /** A map from this key type to `type`. */
  readonly mapKey?: keyof typeof scalarTypes;
  /** `v` and a string `w` share oneof `o`. */
  readonly oneof?: "plain" | "required";
  /** proto3 `optional` (explicit presence). */
  readonly optional?: boolean;
  /** (validate.disabled) on T. */
  readonly disabled?: boolean;
}

const scalarTypes = {
  double: FieldDescriptorProto_Type.DOUBLE,
  float: FieldDescriptorProto_Type.FLOAT,
  int64: FieldDescriptorProto_Type.INT64,
  uint64: FieldDescriptorProto_Type.UINT64,
  int32: FieldDescriptorProto_Type.INT32,
  fixed64: FieldDescriptorProto_Type.FIXED64,
  fixed32: FieldDescriptorProto_Type.FIXED32,
  bool: FieldDescriptorProto_Type.BOOL,
  string: FieldDescriptorProto_Type.STRING,
  bytes: FieldDescriptorProto_Type.BYTES,
  uint32: FieldDescriptorProto_Type.UINT32,
  sfixed32: FieldDescriptorProto_Type.SFIXED32,
  sfixed64: FieldDescriptorProto_Type.SFIXED64,
  sint32: FieldDescriptorProto_Type.SINT32,
  sint64: FieldDescriptorProto_Type.SINT64,
} as const;

const wkt = [
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
];

function fieldOf(name: string, number: number, type: FieldType) {
  if (type in scalarTypes) return { name, number, type: scalarTypes[type as keyof typeof scalarTypes] };
  if (type === "enum") return { name, number, type: FieldDescriptorProto_Type.ENUM, typeName: ".pgvtest.E" };
  const typeName = type === "Inner" ? ".pgvtest.Inner" : `.${type}`;
  return { name, number, type: FieldDescriptorProto_Type.MESSAGE, typeName };
}

function withRules(fieldRules: MessageInitShape<typeof FieldRulesSchema>) {
  const options = create(FieldOptionsSchema);
  setExtension(options, rules, create(FieldRulesSchema, fieldRules));
  return options;
}

/** pgvtest.T with field `v` as specified; Inner has `s` with string.min_len 1. */
export function syntheticSchema(
  spec: Spec,
  fieldRules: MessageInitShape<typeof FieldRulesSchema>,
): DescMessage {
  const v = create(FieldDescriptorProtoSchema, {
    ...fieldOf("v", 1, spec.type),
    label:
      spec.repeated || spec.mapKey
        ? FieldDescriptorProto_Label.REPEATED
        : FieldDescriptorProto_Label.OPTIONAL,
    options: withRules(fieldRules),
    ...(spec.mapKey ? { type: FieldDescriptorProto_Type.MESSAGE, typeName: ".pgvtest.T.VEntry" } : {}),
    ...(spec.oneof || spec.optional ? { oneofIndex: 0 } : {}),
    ...(spec.optional ? { proto3Optional: true } : {}),
  });
  const oneofOptions = create(OneofOptionsSchema);
  if (spec.oneof === "required") setExtension(oneofOptions, required, true);
  const messageOptions = create(MessageOptionsSchema);
  if (spec.disabled) setExtension(messageOptions, disabled, true);
  const file = create(FileDescriptorProtoSchema, {
    name: "pgvtest.proto",
    package: "pgvtest",
    syntax: "proto3",
    dependency: wkt.map((f) => f.proto.name),
    enumType: [{ name: "E", value: ["E_ZERO", "E_ONE", "E_TWO"].map((name, number) => ({ name, number })) }],
    messageType: [
      {
        name: "Inner",
        field: [
          {
            ...fieldOf("s", 1, "string"),
            options: withRules({ type: { case: "string", value: { minLen: 1n } } }),
          },
        ],
      },
      {
        name: "T",
        field: [v, ...(spec.oneof ? [{ ...fieldOf("w", 2, "string"), oneofIndex: 0 }] : [])],
        oneofDecl:
          spec.oneof || spec.optional ? [{ name: spec.optional ? "_v" : "o", options: oneofOptions }] : [],
        options: messageOptions,
        nestedType: spec.mapKey
          ? [
              {
                name: "VEntry",
                field: [fieldOf("key", 1, spec.mapKey), fieldOf("value", 2, spec.type)],
                options: { mapEntry: true },
              },
            ]
          : [],
      },
    ],
  });
  const registry = createFileRegistry(file, (name) => wkt.find((f) => f.proto.name === name));
  return registry.getMessage("pgvtest.T")!;
}
