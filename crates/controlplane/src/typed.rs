//! What makes a served resource typed: its schema in the server's OpenAPI
//! documents, a field manager for `managedFields` and server-side apply
//! built from that schema, and a decoder that drops (and reports) the
//! fields the type does not know, as Go's typed JSON decoding does.

use std::sync::Arc;

use kapi_endpoints::{ObjectDecoder, ResourceInfo, remove_field_path};
use kapi_fieldmanager::{FieldManager, FieldSet, Path};
use kapi_openapi::{OpenApiService, TypeSchema, decode_error, unknown_fields};
use serde_json::Value;

/// Prunes the fields a built-in type's schema does not know.
#[derive(Debug)]
pub(crate) struct SchemaDecoder {
    schema: TypeSchema,
}

impl ObjectDecoder for SchemaDecoder {
    fn decode(&self, object: &mut Value) -> Result<Vec<String>, String> {
        if let Some(error) = decode_error(&self.schema, object) {
            return Err(error);
        }
        let unknown = unknown_fields(&self.schema, object);
        for path in &unknown {
            remove_field_path(object, path);
        }
        Ok(unknown)
    }
}

/// Gives `info` the field manager and decoder of its registered schema.
/// A kind without a schema stays untyped (writes keep unknown fields and
/// record no managers). With a status subresource, each endpoint resets
/// what is not its own (Go: the strategies' `GetResetFields`): the main
/// resource and `finalize` reset `status`, `status` resets `spec`.
pub(crate) fn type_resource(openapi: &OpenApiService, info: &mut ResourceInfo, has_status: bool) {
    let Some(schema) = openapi.schema_of(&info.group, &info.version, &info.kind) else {
        tracing::warn!(kind = %info.kind, group = %info.group, "no OpenAPI schema: untyped");
        return;
    };
    let typed =
        kapi_fieldmanager::TypeSchema::named(schema.definitions.clone(), schema.name.clone());
    match FieldManager::new(&typed, info.api_version(), &info.kind) {
        Ok(manager) => {
            let manager = if has_status {
                manager
                    .with_reset_fields("", fields(&["status"]))
                    .with_reset_fields("status", fields(&["spec"]))
                    .with_reset_fields("finalize", fields(&["status"]))
            } else {
                manager
            };
            info.field_manager = Some(Arc::new(manager));
        }
        Err(err) => tracing::warn!(kind = %info.kind, %err, "no field manager"),
    }
    info.decoder = Some(Arc::new(SchemaDecoder { schema }));
}

fn fields(names: &[&str]) -> FieldSet {
    FieldSet::from_paths(names.iter().map(|name| Path::fields([*name])))
}
