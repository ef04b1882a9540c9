//! Keeping managedFields timestamps still when a write changes nothing
//! else, so that a no-op apply does not bump the resourceVersion.
//!
//! Mirrors `IgnoreManagedFieldsTimestampsTransformer` of
//! `k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager/equality.go`.

use serde_json::Value;

/// When `new` equals `old` except for the `time` of its managedFields
/// entries, puts `old`'s times back into `new` and returns `true`; leaves
/// `new` alone otherwise (entries added or removed, anything else changed).
pub fn ignore_managed_fields_timestamps(new: &mut Value, old: &Value) -> bool {
    let (Some(Value::Array(new_entries)), Some(Value::Array(old_entries))) = (
        new.pointer("/metadata/managedFields"),
        old.pointer("/metadata/managedFields"),
    ) else {
        return false;
    };
    if new_entries.len() != old_entries.len() || new_entries.is_empty() {
        return false;
    }
    let time = |e: &Value| e.get("time").cloned();
    if new_entries
        .iter()
        .zip(old_entries)
        .all(|(n, o)| time(n) == time(o))
    {
        return false;
    }
    let without_time = |e: &Value| {
        let mut e = e.clone();
        if let Value::Object(map) = &mut e {
            map.remove("time");
        }
        e
    };
    if !new_entries
        .iter()
        .zip(old_entries)
        .all(|(n, o)| without_time(n) == without_time(o))
    {
        return false;
    }
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(Value::Object(meta)) = v.get_mut("metadata") {
            meta.remove("managedFields");
        }
        v
    };
    if strip(new) != strip(old) {
        return false;
    }
    let old_times: Vec<Option<Value>> = old_entries.iter().map(time).collect();
    if let Some(Value::Array(entries)) = new.pointer_mut("/metadata/managedFields") {
        for (entry, old_time) in entries.iter_mut().zip(old_times) {
            if let Value::Object(map) = entry {
                match old_time {
                    Some(t) => map.insert("time".into(), t),
                    None => map.remove("time"),
                };
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(data: &str, time: &str) -> Value {
        json!({"metadata": {"name": "x", "managedFields": [
            {"manager": "m", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {}}, "time": time}
        ]}, "data": {"k": data}})
    }

    #[test]
    fn restores_times_only_for_no_op_writes() {
        let old = object("a", "2020-01-01T00:00:00Z");
        let mut new = object("a", "2021-01-01T00:00:00Z");
        assert!(ignore_managed_fields_timestamps(&mut new, &old));
        assert_eq!(new, old);

        let mut changed = object("b", "2021-01-01T00:00:00Z");
        assert!(!ignore_managed_fields_timestamps(&mut changed, &old));
        assert_eq!(changed, object("b", "2021-01-01T00:00:00Z"));
    }
}
