//! Server-side tables of custom resources: the `Name` column, then the
//! version's `additionalPrinterColumns` (or Go's default `Age` column),
//! each cell found with the column's JSONPath and converted to the
//! column's type.
//!
//! Mirrors `pkg/registry/customresource/tableconvertor/tableconvertor.go`
//! and the column defaults of `pkg/apiserver/helpers.go`
//! (`serveDefaultColumnsIfEmpty`, `getScaleColumnsForVersion`).

use kapi_endpoints::{ColumnDefinition, TableConvertor};
use serde_json::Value;
use tracing::debug;

use crate::gofmt;
use crate::jsonpath::JsonPath;
use crate::{PrinterColumn, ScaleSpec};

/// The table convertor of one custom resource version (Go:
/// `tableconvertor.New`).
#[derive(Debug, Clone)]
pub struct CustomResourceTable {
    columns: Vec<ColumnDefinition>,
    paths: Vec<JsonPath>,
}

impl CustomResourceTable {
    /// The table of a version with these `additionalPrinterColumns`; none
    /// gives Go's default `Age` column (`.metadata.creationTimestamp`,
    /// type `date`). A column whose JSONPath does not parse ends the list
    /// there, as in Go (which logs and falls back to the columns before
    /// it).
    pub fn new(columns: &[PrinterColumn]) -> Self {
        if columns.is_empty() {
            return Self::with_columns(&[age_column()]);
        }
        Self::with_columns(columns)
    }

    /// The table of the `/scale` subresource, over `Scale` objects:
    /// `Desired` and `Available` replicas, then `Age` (Go:
    /// `getScaleColumnsForVersion`).
    pub fn for_scale(scale: &ScaleSpec) -> Self {
        let mut columns = Vec::new();
        if !scale.spec_replicas_path.is_empty() {
            let mut desired = PrinterColumn::new("Desired", "integer", ".spec.replicas");
            desired.description = "Number of desired replicas".to_owned();
            columns.push(desired);
        }
        if !scale.status_replicas_path.is_empty() {
            let mut available = PrinterColumn::new("Available", "integer", ".status.replicas");
            available.description = "Number of actual replicas".to_owned();
            columns.push(available);
        }
        columns.push(age_column());
        Self::with_columns(&columns)
    }

    fn with_columns(columns: &[PrinterColumn]) -> Self {
        let mut table = Self {
            columns: vec![ColumnDefinition::name()],
            paths: Vec::new(),
        };
        for column in columns {
            let path = match JsonPath::parse(&column.json_path) {
                Ok(path) => path,
                Err(err) => {
                    debug!(
                        json_path = column.json_path,
                        "unrecognized column definition {}, falling back to the columns before it: {err}",
                        kapi_core::go::quote(&column.json_path)
                    );
                    break;
                }
            };
            let description = if column.description.is_empty() {
                format!(
                    "Custom resource definition column (in JSONPath format): {}",
                    column.json_path
                )
            } else {
                column.description.clone()
            };
            let mut definition = ColumnDefinition::new(&column.name, &column.type_, &description);
            definition.format.clone_from(&column.format);
            definition.priority = column.priority;
            table.columns.push(definition);
            table.paths.push(path);
        }
        table
    }
}

impl TableConvertor for CustomResourceTable {
    fn columns(&self) -> Vec<ColumnDefinition> {
        self.columns.clone()
    }

    fn cells(&self, object: &Value) -> Vec<Value> {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let mut cells = vec![Value::from(name)];
        for (path, column) in self.paths.iter().zip(&self.columns[1..]) {
            let value = match path.find(object) {
                Ok(values) => values.into_iter().next().map(std::borrow::Cow::into_owned),
                Err(_) => None,
            };
            cells.push(match value {
                None => Value::Null,
                Some(value) => cell(&column.type_, &value),
            });
        }
        cells
    }
}

/// Go's default column: `Age` from `.metadata.creationTimestamp`.
fn age_column() -> PrinterColumn {
    let mut age = PrinterColumn::new("Age", "date", ".metadata.creationTimestamp");
    age.description = ColumnDefinition::age().description;
    age
}

/// One cell (Go: `cellForJSONValue`, and JSONPath's text output for
/// `string` columns).
fn cell(type_: &str, value: &Value) -> Value {
    match (type_, value) {
        ("string", Value::Array(_) | Value::Object(_)) => Value::from(value.to_string()),
        ("string", Value::Null) => Value::from("<no value>"),
        ("string", other) => Value::from(gofmt::value(other)),
        (_, Value::Null) => Value::Null,
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => Value::from(i),
            // Go converts float64 to int64 by truncation.
            #[allow(clippy::cast_possible_truncation)]
            None => Value::from(n.as_f64().unwrap_or_default() as i64),
        },
        ("number", Value::Number(n)) => float_cell(n.as_f64().unwrap_or_default()),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(text)) => date_cell(text),
        _ => Value::Null,
    }
}

/// A float64 as Go's JSON encoder writes it: integral values without a
/// fraction.
fn float_cell(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        // Integral and exactly representable.
        #[allow(clippy::cast_possible_truncation)]
        return Value::from(f as i64);
    }
    Value::from(f)
}

/// A `date` cell: the time since the timestamp as kubectl's `AGE`
/// (`<unknown>` for an empty one, `<invalid>` when it does not parse; Go:
/// `metatable.ConvertToHumanReadableDateType`).
fn date_cell(text: &str) -> Value {
    if text.is_empty() || text == "null" {
        return Value::from("<unknown>");
    }
    if text.parse::<jiff::Timestamp>().is_err() {
        return Value::from("<invalid>");
    }
    kapi_endpoints::age(&serde_json::json!({"metadata": {"creationTimestamp": text}}))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn crontab() -> Value {
        json!({
            "apiVersion": "stable.example.com/v1",
            "kind": "CronTab",
            "metadata": {"name": "every-minute", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {
                "cronSpec": "* * * * */5",
                "replicas": 3,
                "ratio": 1.5,
                "whole": 2.0,
                "suspend": false,
                "items": [{"name": "first"}, {"name": "second"}],
                "labels": {"a": "b"},
                "nothing": null,
            },
            "status": {
                "conditions": [
                    {"type": "Synced", "status": "False"},
                    {"type": "Ready", "status": "True", "lastTransitionTime": "not a time"},
                ],
            },
        })
    }

    /// The cells of one column over the CronTab.
    fn check(type_: &str, json_path: &str, expected: Value) {
        let table = CustomResourceTable::new(&[PrinterColumn::new("C", type_, json_path)]);
        assert_eq!(
            table.cells(&crontab()),
            vec![json!("every-minute"), expected],
            "{type_} {json_path}"
        );
    }

    #[test]
    fn cells_by_type() {
        check("string", ".spec.cronSpec", json!("* * * * */5"));
        check("integer", ".spec.replicas", json!(3));
        check("integer", ".spec.ratio", json!(1));
        check("number", ".spec.replicas", json!(3));
        check("number", ".spec.ratio", json!(1.5));
        check("number", ".spec.cronSpec", Value::Null);
        check("boolean", ".spec.suspend", json!(false));
        check("boolean", ".spec.replicas", Value::Null);
        check("string", ".spec.replicas", json!("3"));
        check("string", ".spec.whole", json!("2"));
        check("string", ".spec.labels", json!(r#"{"a":"b"}"#));
        check("string", ".spec.nothing", json!("<no value>"));
        check("integer", ".spec.nothing", Value::Null);
        check("string", ".spec.missing", Value::Null);
        check("string", ".spec.items[*].name", json!("first"));
        check("string", ".spec.items[5].name", Value::Null);
        check(
            "date",
            ".status.conditions[1].lastTransitionTime",
            json!("<invalid>"),
        );
        check("date", ".spec.replicas", Value::Null);
    }

    #[test]
    fn filter_expression_column() {
        check(
            "string",
            r#".status.conditions[?(@.type=="Ready")].status"#,
            json!("True"),
        );
        check(
            "string",
            r#".status.conditions[?(@.type=="Gone")].status"#,
            Value::Null,
        );
    }

    #[test]
    fn date_cells_are_ages() {
        let ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(49);
        let object = json!({"metadata": {"name": "x", "creationTimestamp": ago.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()}});
        let table = CustomResourceTable::new(&[]);
        assert_eq!(table.cells(&object), vec![json!("x"), json!("2d1h")]);
        assert_eq!(
            table.cells(&json!({"metadata": {"name": "y"}})),
            vec![json!("y"), Value::Null]
        );
    }

    #[test]
    fn columns_and_defaults() {
        let table = CustomResourceTable::new(&[]);
        let columns = table.columns();
        assert_eq!(columns.len(), 2);
        assert_eq!(columns[0], ColumnDefinition::name());
        assert_eq!(
            (columns[1].name.as_str(), columns[1].type_.as_str()),
            ("Age", "date")
        );
        assert_eq!(columns[1].description, ColumnDefinition::age().description);

        let mut wide = PrinterColumn::new("Spec", "string", ".spec.cronSpec");
        wide.priority = 1;
        wide.format = "password".to_owned();
        let mut described = PrinterColumn::new("Replicas", "integer", ".spec.replicas");
        described.description = "how many".to_owned();
        let broken = PrinterColumn::new("Broken", "string", ".spec[");
        let after = PrinterColumn::new("After", "string", ".spec.x");
        let table = CustomResourceTable::new(&[wide, described, broken, after]);
        let columns = table.columns();
        let summary: Vec<(&str, &str, i32, &str)> = columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.format.as_str(),
                    c.priority,
                    c.description.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "Name",
                    "name",
                    0,
                    ColumnDefinition::name().description.as_str()
                ),
                (
                    "Spec",
                    "password",
                    1,
                    "Custom resource definition column (in JSONPath format): .spec.cronSpec"
                ),
                ("Replicas", "", 0, "how many"),
            ]
        );
        assert_eq!(
            table.cells(&crontab()),
            vec![json!("every-minute"), json!("* * * * */5"), json!(3)]
        );
    }

    #[test]
    fn scale_table() {
        let table = CustomResourceTable::for_scale(&ScaleSpec::new(
            ".spec.replicas",
            ".status.replicas",
            None,
        ));
        let names: Vec<String> = table.columns().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["Name", "Desired", "Available", "Age"]);
        let scale =
            json!({"metadata": {"name": "c"}, "spec": {"replicas": 2}, "status": {"replicas": 1}});
        assert_eq!(
            table.cells(&scale),
            vec![json!("c"), json!(2), json!(1), Value::Null]
        );
    }
}
