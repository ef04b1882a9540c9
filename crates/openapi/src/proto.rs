//! The protobuf form of the OpenAPI v2 document: gnostic's
//! `openapi.v2.Document` (github.com/google/gnostic-models `OpenAPIv2.proto`),
//! written from the JSON document the way Go's
//! `openapi_v2.ParseDocument` + `proto.Marshal` write it (Go:
//! `kube-openapi/pkg/handler.ToProtoBinary`).
//!
//! client-go's `DiscoveryClient.OpenAPISchema` asks for this form only, and
//! kubectl up to 1.28 fetches it before `explain`, `create` and `apply`.
//! Vendor extensions and `default`/`example`/`enum` values are carried as
//! gnostic `Any` messages whose `yaml` is the value's JSON text (JSON is
//! YAML, and Go reads them with a YAML decoder).
//!
//! Only the parts of Swagger 2.0 kapi's documents use are written.

use serde_json::{Map, Value};

/// Protobuf wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LENGTH_DELIMITED: u64 = 2;

#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            // Truncation intended: the low seven bits plus the continuation bit.
            self.buf.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    fn key(&mut self, field: u64, wire: u64) {
        self.varint((field << 3) | wire);
    }

    fn bytes(&mut self, field: u64, bytes: &[u8]) {
        self.key(field, LENGTH_DELIMITED);
        self.varint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    /// A proto3 string: omitted when empty.
    fn string(&mut self, field: u64, value: &str) {
        if !value.is_empty() {
            self.bytes(field, value.as_bytes());
        }
    }

    /// An element of a repeated string: always written.
    fn repeated_string(&mut self, field: u64, value: &str) {
        self.bytes(field, value.as_bytes());
    }

    fn boolean(&mut self, field: u64, value: bool) {
        if value {
            self.key(field, VARINT);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u64, value: i64) {
        if value != 0 {
            self.key(field, VARINT);
            // Two's complement, as protobuf writes negative int64s.
            self.varint(value as u64);
        }
    }

    fn double(&mut self, field: u64, value: f64) {
        if value != 0.0 {
            self.key(field, FIXED64);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn message(&mut self, field: u64, write: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        write(&mut inner);
        self.bytes(field, &inner.buf);
    }
}

fn str_of<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn bool_of(object: &Map<String, Value>, key: &str) -> bool {
    object.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn strings_of<'a>(object: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    match object.get(key) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(single)) => vec![single.as_str()],
        _ => Vec::new(),
    }
}

/// A gnostic `Any`: `yaml` (field 2) holds the value's text.
fn any(w: &mut Writer, field: u64, value: &Value) {
    let text = serde_json::to_string(value).unwrap_or_default();
    w.message(field, |a| a.string(2, &text));
}

/// `repeated NamedAny vendor_extension`: every `x-` key.
fn vendor_extensions(w: &mut Writer, field: u64, object: &Map<String, Value>) {
    for (key, value) in object.iter().filter(|(key, _)| key.starts_with("x-")) {
        w.message(field, |named| {
            named.string(1, key);
            any(named, 2, value);
        });
    }
}

/// Encodes a Swagger 2.0 JSON document as `openapi.v2.Document`.
pub(crate) fn encode_v2_document(document: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    let Some(doc) = document.as_object() else {
        return w.buf;
    };
    w.string(1, str_of(doc, "swagger"));
    if let Some(Value::Object(info)) = doc.get("info") {
        w.message(2, |i| {
            i.string(1, str_of(info, "title"));
            i.string(2, str_of(info, "version"));
            i.string(3, str_of(info, "description"));
            vendor_extensions(i, 7, info);
        });
    }
    for scheme in strings_of(doc, "schemes") {
        w.repeated_string(5, scheme);
    }
    if let Some(Value::Object(paths)) = doc.get("paths") {
        w.message(8, |p| {
            vendor_extensions(p, 1, paths);
            for (name, item) in paths.iter().filter(|(name, _)| !name.starts_with("x-")) {
                let Value::Object(item) = item else { continue };
                p.message(2, |named| {
                    named.string(1, name);
                    named.message(2, |pi| path_item(pi, item));
                });
            }
        });
    }
    if let Some(Value::Object(definitions)) = doc.get("definitions") {
        w.message(9, |d| {
            for (name, schema_value) in definitions {
                d.message(1, |named| {
                    named.string(1, name);
                    named.message(2, |s| schema(s, schema_value));
                });
            }
        });
    }
    if let Some(Value::Array(security)) = doc.get("security") {
        for requirement in security {
            let Value::Object(requirement) = requirement else {
                continue;
            };
            w.message(12, |r| {
                for (name, scopes) in requirement {
                    r.message(1, |named| {
                        named.string(1, name);
                        named.message(2, |array| {
                            for scope in scopes
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                            {
                                array.repeated_string(1, scope);
                            }
                        });
                    });
                }
            });
        }
    }
    if let Some(Value::Object(definitions)) = doc.get("securityDefinitions") {
        w.message(13, |d| {
            for (name, item) in definitions {
                let Value::Object(item) = item else { continue };
                d.message(1, |named| {
                    named.string(1, name);
                    named.message(2, |one_of| {
                        // Only API-key schemes are written by kapi.
                        one_of.message(2, |api_key| {
                            api_key.string(1, str_of(item, "type"));
                            api_key.string(2, str_of(item, "name"));
                            api_key.string(3, str_of(item, "in"));
                            api_key.string(4, str_of(item, "description"));
                            vendor_extensions(api_key, 5, item);
                        });
                    });
                });
            }
        });
    }
    vendor_extensions(&mut w, 16, doc);
    w.buf
}

fn path_item(w: &mut Writer, item: &Map<String, Value>) {
    w.string(1, str_of(item, "$ref"));
    for (field, method) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (6, "options"),
        (7, "head"),
        (8, "patch"),
    ] {
        if let Some(Value::Object(op)) = item.get(method) {
            w.message(field, |o| operation(o, op));
        }
    }
    for param in item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        w.message(9, |p| parameters_item(p, param));
    }
    vendor_extensions(w, 10, item);
}

fn operation(w: &mut Writer, op: &Map<String, Value>) {
    for tag in strings_of(op, "tags") {
        w.repeated_string(1, tag);
    }
    w.string(2, str_of(op, "summary"));
    w.string(3, str_of(op, "description"));
    w.string(5, str_of(op, "operationId"));
    for produces in strings_of(op, "produces") {
        w.repeated_string(6, produces);
    }
    for consumes in strings_of(op, "consumes") {
        w.repeated_string(7, consumes);
    }
    for param in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        w.message(8, |p| parameters_item(p, param));
    }
    if let Some(Value::Object(responses)) = op.get("responses") {
        w.message(9, |r| {
            for (code, response) in responses.iter().filter(|(code, _)| !code.starts_with("x-")) {
                let Value::Object(response) = response else {
                    continue;
                };
                r.message(1, |named| {
                    named.string(1, code);
                    named.message(2, |value| {
                        value.message(1, |resp| {
                            resp.string(1, str_of(response, "description"));
                            if let Some(schema_value) = response.get("schema") {
                                resp.message(2, |item| {
                                    item.message(1, |s| schema(s, schema_value))
                                });
                            }
                            vendor_extensions(resp, 5, response);
                        });
                    });
                });
            }
            vendor_extensions(r, 2, responses);
        });
    }
    for scheme in strings_of(op, "schemes") {
        w.repeated_string(10, scheme);
    }
    w.boolean(11, bool_of(op, "deprecated"));
    vendor_extensions(w, 13, op);
}

fn parameters_item(w: &mut Writer, param: &Value) {
    let Value::Object(param) = param else { return };
    if let Some(reference) = param.get("$ref").and_then(Value::as_str) {
        w.message(2, |r| r.string(1, reference));
        return;
    }
    w.message(1, |p| {
        if str_of(param, "in") == "body" {
            p.message(1, |body| {
                body.string(1, str_of(param, "description"));
                body.string(2, str_of(param, "name"));
                body.string(3, str_of(param, "in"));
                body.boolean(4, bool_of(param, "required"));
                if let Some(schema_value) = param.get("schema") {
                    body.message(5, |s| schema(s, schema_value));
                }
                vendor_extensions(body, 6, param);
            });
            return;
        }
        p.message(2, |non_body| {
            // QueryParameterSubSchema (3) and PathParameterSubSchema (4)
            // differ in `allow_empty_value`, which shifts the later fields.
            let (field, shift) = match str_of(param, "in") {
                "path" => (4, 0),
                "header" => (1, 0),
                _ => (3, 1),
            };
            non_body.message(field, |sub| {
                sub.boolean(1, bool_of(param, "required"));
                sub.string(2, str_of(param, "in"));
                sub.string(3, str_of(param, "description"));
                sub.string(4, str_of(param, "name"));
                if shift == 1 {
                    sub.boolean(5, bool_of(param, "allowEmptyValue"));
                }
                sub.string(5 + shift, str_of(param, "type"));
                sub.string(6 + shift, str_of(param, "format"));
                sub.boolean(19 + shift, bool_of(param, "uniqueItems"));
                vendor_extensions(sub, 22 + shift, param);
            });
        });
    });
}

fn number(object: &Map<String, Value>, key: &str) -> f64 {
    object.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn integer(object: &Map<String, Value>, key: &str) -> i64 {
    object.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn schema(w: &mut Writer, value: &Value) {
    let Value::Object(s) = value else { return };
    w.string(1, str_of(s, "$ref"));
    w.string(2, str_of(s, "format"));
    w.string(3, str_of(s, "title"));
    w.string(4, str_of(s, "description"));
    if let Some(default) = s.get("default") {
        any(w, 5, default);
    }
    w.double(6, number(s, "multipleOf"));
    w.double(7, number(s, "maximum"));
    w.boolean(8, bool_of(s, "exclusiveMaximum"));
    w.double(9, number(s, "minimum"));
    w.boolean(10, bool_of(s, "exclusiveMinimum"));
    w.int64(11, integer(s, "maxLength"));
    w.int64(12, integer(s, "minLength"));
    w.string(13, str_of(s, "pattern"));
    w.int64(14, integer(s, "maxItems"));
    w.int64(15, integer(s, "minItems"));
    w.boolean(16, bool_of(s, "uniqueItems"));
    w.int64(17, integer(s, "maxProperties"));
    w.int64(18, integer(s, "minProperties"));
    for required in strings_of(s, "required") {
        w.repeated_string(19, required);
    }
    for value in s
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        any(w, 20, value);
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(allowed)) => {
            let allowed = *allowed;
            w.message(21, |a| {
                a.key(2, VARINT);
                a.varint(u64::from(allowed));
            });
        }
        Some(additional @ Value::Object(_)) => {
            w.message(21, |a| a.message(1, |inner| schema(inner, additional)))
        }
        _ => {}
    }
    let types = strings_of(s, "type");
    if !types.is_empty() {
        w.message(22, |t| {
            for ty in types {
                t.repeated_string(1, ty);
            }
        });
    }
    match s.get("items") {
        Some(items @ Value::Object(_)) => {
            w.message(23, |i| i.message(1, |inner| schema(inner, items)))
        }
        Some(Value::Array(items)) => w.message(23, |i| {
            for item in items {
                i.message(1, |inner| schema(inner, item));
            }
        }),
        _ => {}
    }
    for item in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        w.message(24, |inner| schema(inner, item));
    }
    if let Some(Value::Object(properties)) = s.get("properties") {
        w.message(25, |p| {
            for (name, property) in properties {
                p.message(1, |named| {
                    named.string(1, name);
                    named.message(2, |inner| schema(inner, property));
                });
            }
        });
    }
    w.string(26, str_of(s, "discriminator"));
    w.boolean(27, bool_of(s, "readOnly"));
    if let Some(example) = s.get("example") {
        any(w, 30, example);
    }
    vendor_extensions(w, 31, s);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn varints_and_fields() {
        let mut w = Writer::default();
        w.varint(300);
        assert_eq!(w.buf, [0xac, 0x02]);
        let mut w = Writer::default();
        w.string(1, "2.0");
        w.string(3, "");
        w.boolean(4, false);
        assert_eq!(w.buf, [0x0a, 3, b'2', b'.', b'0']);
    }

    #[test]
    fn encodes_a_small_document() {
        let document = json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1"},
            "paths": {},
            "definitions": {"io.k8s.X": {"type": "object", "x-kubernetes-map-type": "atomic"}},
        });
        let bytes = encode_v2_document(&document);
        // swagger
        assert_eq!(&bytes[..5], &[0x0a, 3, b'2', b'.', b'0']);
        // info { title, version }
        assert_eq!(&bytes[5..7], &[0x12, 16]);
        assert_eq!(
            &bytes[7..19],
            &[
                0x0a, 10, b'K', b'u', b'b', b'e', b'r', b'n', b'e', b't', b'e', b's'
            ]
        );
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("x-kubernetes-map-type"));
        assert!(text.contains("\"atomic\""));
    }
}
