//! Data-driven tests of CRD validation: the CronTab CRD of the Kubernetes
//! documentation, each rule broken once, with Go's messages.

use kapi_storage::registry::Strategy;
use serde_json::{Value, json};

use crate::definition::status::{CrdCondition, set_crd_condition};
use crate::definition::strategy::{CrdStatusStrategy, CrdStrategy};

/// The CronTab CRD from "Extend the Kubernetes API with
/// CustomResourceDefinitions".
fn crontab() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com",
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {
                        "type": "object",
                        "properties": {
                            "cronSpec": {"type": "string"},
                            "image": {"type": "string"},
                            "replicas": {"type": "integer"},
                        },
                    }},
                }},
            }],
            "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
        },
    })
}

fn messages(errs: &[kapi_core::field::Error]) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

/// Creates the CronTab CRD changed by `edit` and compares the messages.
fn check(edit: impl FnOnce(&mut Value), expected: &[&str]) {
    let mut crd = crontab();
    edit(&mut crd);
    CrdStrategy.prepare_for_create(&mut crd);
    assert_eq!(messages(&CrdStrategy.validate(&crd)), expected, "{crd:#}");
}

/// Updates the created CronTab CRD (established when `established`) with
/// `edit` and compares the messages of the update validation.
fn check_update(established: bool, edit: impl FnOnce(&mut Value), expected: &[&str]) {
    let mut old = crontab();
    CrdStrategy.prepare_for_create(&mut old);
    if established {
        set_crd_condition(
            &mut old,
            &CrdCondition::established(),
            jiff::Timestamp::UNIX_EPOCH,
        );
    }
    let mut new = old.clone();
    edit(&mut new);
    CrdStrategy.prepare_for_update(&mut new, &old);
    assert_eq!(
        messages(&CrdStrategy.validate_update(&new, &old)),
        expected,
        "{new:#}"
    );
}

const DNS1035: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const WEBHOOK_FORM: &str = "; desired format: https://host[/path]";

#[test]
fn the_documented_crontab_is_valid() {
    check(|_| {}, &[]);
}

#[test]
fn metadata_name_rules() {
    check(
        |crd| crd["metadata"]["name"] = json!("crontab.stable.example.com"),
        &[
            r#"metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group"#,
        ],
    );
    check(
        |crd| {
            crd["spec"]["group"] = json!("stable_example.com");
            crd["metadata"]["name"] = json!("crontabs.stable_example.com");
        },
        &[
            &format!(
                r#"metadata.name: Invalid value: "crontabs.stable_example.com": {DNS1123_SUBDOMAIN}"#
            ),
            &format!(r#"spec.group: Invalid value: "stable_example.com": {DNS1123_SUBDOMAIN}"#),
        ],
    );
    check(
        |crd| {
            crd["metadata"] = json!({"generateName": "crontabs-"});
        },
        &[
            r#"metadata.generateName: Invalid value: "crontabs-": must be spec.names.plural+"."+spec.group"#,
            "metadata.name: Required value: name or generateName is required",
        ],
    );
}

#[test]
fn group_and_scope_rules() {
    check(
        |crd| {
            crd["spec"]["group"] = json!("example");
            crd["metadata"]["name"] = json!("crontabs.example");
        },
        &[r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#],
    );
    check(
        |crd| {
            crd["spec"].as_object_mut().unwrap().remove("group");
            crd["metadata"]["name"] = json!("crontabs.");
        },
        &[
            &format!(r#"metadata.name: Invalid value: "crontabs.": {DNS1123_SUBDOMAIN}"#),
            "spec.group: Required value",
        ],
    );
    check(
        |crd| crd["spec"]["scope"] = json!("Global"),
        &[r#"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#],
    );
    check(
        |crd| {
            crd["spec"].as_object_mut().unwrap().remove("scope");
        },
        &["spec.scope: Required value"],
    );
}

#[test]
fn names_rules() {
    check(
        |crd| crd["spec"]["names"]["singular"] = json!("cron_tab"),
        &[&format!(
            r#"spec.names.singular: Invalid value: "cron_tab": {DNS1035}"#
        )],
    );
    check(
        |crd| crd["spec"]["names"]["kind"] = json!("Cron-Tab-"),
        &[&format!(
            r#"spec.names.kind: Invalid value: "Cron-Tab-": may have mixed case, but should otherwise match: {DNS1035}"#
        )],
    );
    check(
        |crd| crd["spec"]["names"]["listKind"] = json!("CronTab"),
        &[
            r#"spec.names.listKind: Invalid value: "CronTab": kind and listKind may not be the same"#,
        ],
    );
    check(
        |crd| crd["spec"]["names"]["shortNames"] = json!(["ct", "c t"]),
        &[&format!(
            r#"spec.names.shortNames[1]: Invalid value: "c t": {DNS1035}"#
        )],
    );
    check(
        |crd| crd["spec"]["names"]["categories"] = json!(["all", "Cron"]),
        &[&format!(
            r#"spec.names.categories[1]: Invalid value: "Cron": {DNS1035}"#
        )],
    );
    check(
        |crd| {
            crd["spec"]["names"].as_object_mut().unwrap().remove("kind");
        },
        &[
            "spec.names.kind: Required value",
            "spec.names.listKind: Required value",
        ],
    );
    check(
        |crd| {
            crd["spec"]["names"]["plural"] = json!("");
            crd["metadata"]["name"] = json!("stable.example.com");
        },
        &[
            r#"metadata.name: Invalid value: "stable.example.com": must be spec.names.plural+"."+spec.group"#,
            "spec.names.plural: Required value",
        ],
    );
}

#[test]
fn version_rules() {
    let versions_json = |crd: &Value| serde_json::to_string(&crd["spec"]["versions"]).unwrap();
    let mut two_storage = crontab();
    let mut second = two_storage["spec"]["versions"][0].clone();
    second["name"] = json!("v2");
    two_storage["spec"]["versions"]
        .as_array_mut()
        .unwrap()
        .push(second);
    let rendered = versions_json(&two_storage);
    check(
        |crd| *crd = two_storage.clone(),
        &[
            &format!(
                "spec.versions: Invalid value: {rendered}: must have exactly one version marked as storage version"
            ),
            r#"status.storedVersions: Invalid value: []string{"v1"}: must have the storage version v2"#,
        ],
    );
    check(
        |crd| crd["spec"]["versions"] = json!([]),
        &[
            "spec.versions: Invalid value: []: must have exactly one version marked as storage version",
            "status.storedVersions: Invalid value: []string(nil): must have at least one stored version",
        ],
    );
    let mut duplicate = crontab();
    let mut copy = duplicate["spec"]["versions"][0].clone();
    copy["storage"] = json!(false);
    duplicate["spec"]["versions"]
        .as_array_mut()
        .unwrap()
        .push(copy);
    let rendered = versions_json(&duplicate);
    check(
        |crd| *crd = duplicate.clone(),
        &[&format!(
            "spec.versions: Invalid value: {rendered}: must contain unique version names"
        )],
    );
    check(
        |crd| crd["spec"]["versions"][0]["name"] = json!("V1"),
        &[
            &format!(r#"spec.versions[0].name: Invalid value: "V1": {DNS1035}"#),
            &format!(r#"spec.version: Invalid value: "V1": {DNS1035}"#),
        ],
    );
    check(
        |crd| {
            crd["spec"]["versions"][0]
                .as_object_mut()
                .unwrap()
                .remove("schema");
        },
        &["spec.versions[0].schema.openAPIV3Schema: Required value"],
    );
    check(
        |crd| crd["spec"]["versions"][0]["deprecationWarning"] = json!("old"),
        &[
            r#"spec.versions[0].deprecationWarning: Invalid value: "old": can only be set for deprecated versions"#,
        ],
    );
    check(
        |crd| {
            crd["spec"]["versions"][0]["deprecated"] = json!(true);
            crd["spec"]["versions"][0]["deprecationWarning"] = json!("bad\u{7}");
        },
        &[
            r#"spec.versions[0].deprecationWarning: Invalid value: "bad\a": must only contain printable UTF-8 characters; non-printable character found at index 3"#,
        ],
    );
}

#[test]
fn schema_rules_with_status() {
    check(
        |crd| crd["spec"]["versions"][0]["subresources"] = json!({"status": {}}),
        &[],
    );
    let mut root = crontab()["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
    root["maxProperties"] = json!(3);
    let rendered = serde_json::to_string(&root).unwrap();
    check(
        |crd| {
            crd["spec"]["versions"][0]["subresources"] = json!({"status": {}});
            crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = root.clone();
        },
        &[&format!(
            "spec.validation.openAPIV3Schema: Invalid value: {rendered}: only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled"
        )],
    );
    check(
        |crd| crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["nullable"] = json!(true),
        &[
            "spec.validation.openAPIV3Schema.nullable: Forbidden: nullable cannot be true at the root",
        ],
    );
}

#[test]
fn per_version_fields_are_reported_per_version() {
    check(
        |crd| {
            let mut v2 = crd["spec"]["versions"][0].clone();
            v2["name"] = json!("v2");
            v2["storage"] = json!(false);
            v2["schema"]["openAPIV3Schema"]["nullable"] = json!(true);
            v2["additionalPrinterColumns"] =
                json!([{"name": "Spec", "type": "str", "jsonPath": ".spec.cronSpec"}]);
            crd["spec"]["versions"].as_array_mut().unwrap().push(v2);
        },
        &[
            "spec.versions[1].schema.openAPIV3Schema.nullable: Forbidden: nullable cannot be true at the root",
            r#"spec.versions[1].additionalPrinterColumns[0].type: Invalid value: "str": must be one of boolean,date,integer,number,string"#,
        ],
    );
}

#[test]
fn scale_subresource_rules() {
    let scale = |value: Value| {
        move |crd: &mut Value| crd["spec"]["versions"][0]["subresources"] = json!({"scale": value})
    };
    check(
        scale(
            json!({"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.labelSelector"}),
        ),
        &[],
    );
    check(
        scale(
            json!({"specReplicasPath": ".status.replicas", "statusReplicasPath": "status.replicas", "labelSelectorPath": ".metadata.labels"}),
        ),
        &[
            r#"spec.subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec"#,
            r#"spec.subresources.scale.statusReplicasPath: Invalid value: "status.replicas": must be a simple json path starting with ."#,
            r#"spec.subresources.scale.labelSelectorPath: Invalid value: ".metadata.labels": should be a json path under either .spec or .status"#,
        ],
    );
    check(
        scale(json!({"statusReplicasPath": ".status.replicas"})),
        &["spec.subresources.scale.specReplicasPath: Required value"],
    );
}

#[test]
fn printer_column_rules() {
    let columns = |value: Value| {
        move |crd: &mut Value| crd["spec"]["versions"][0]["additionalPrinterColumns"] = value
    };
    check(
        columns(json!([
            {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
            {"name": "Replicas", "type": "integer", "format": "int32", "jsonPath": ".spec.replicas", "priority": 1},
            {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
        ])),
        &[],
    );
    check(
        columns(json!([{"name": "", "type": "float", "format": "percent", "jsonPath": "spec.x"}])),
        &[
            "spec.additionalPrinterColumns[0].name: Required value",
            r#"spec.additionalPrinterColumns[0].type: Invalid value: "float": must be one of boolean,date,integer,number,string"#,
            r#"spec.additionalPrinterColumns[0].format: Invalid value: "percent": must be one of byte,date,date-time,double,float,int32,int64,password"#,
            r#"spec.additionalPrinterColumns[0].JSONPath: Invalid value: "spec.x": must be a simple json path starting with ."#,
        ],
    );
    check(
        columns(json!([{"name": "X"}])),
        &[
            "spec.additionalPrinterColumns[0].type: Required value: must be one of boolean,date,integer,number,string",
            "spec.additionalPrinterColumns[0].JSONPath: Required value",
        ],
    );
}

#[test]
fn conversion_rules() {
    let conversion = |value: Value| move |crd: &mut Value| crd["spec"]["conversion"] = value;
    check(
        conversion(json!({"strategy": "Webhook", "webhook": {
            "clientConfig": {"service": {"namespace": "default", "name": "convert", "path": "/convert"}},
            "conversionReviewVersions": ["v1"],
        }})),
        &[],
    );
    check(
        conversion(json!({"strategy": "Webhook"})),
        &[
            "spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook",
            "spec.conversion.conversionReviewVersions: Required value",
        ],
    );
    check(
        conversion(json!({"strategy": "Webhook", "webhook": {
            "clientConfig": {"url": "http://user@example.com/convert?x=1#f"},
            "conversionReviewVersions": ["v2", "v2"],
        }})),
        &[
            &format!(
                r#"spec.conversion.webhookClientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme{WEBHOOK_FORM}"#
            ),
            r#"spec.conversion.webhookClientConfig.url: Invalid value: "user": user information is not permitted in the URL"#,
            r#"spec.conversion.webhookClientConfig.url: Invalid value: "f": fragments are not permitted in the URL"#,
            r#"spec.conversion.webhookClientConfig.url: Invalid value: "x=1": query parameters are not permitted in the URL"#,
            r#"spec.conversion.conversionReviewVersions[1]: Invalid value: "v2": duplicate version"#,
            r#"spec.conversion.conversionReviewVersions: Invalid value: []string{"v2", "v2"}: must include at least one of v1, v1beta1"#,
        ],
    );
    check(
        conversion(json!({"strategy": "Webhook", "webhook": {
            "clientConfig": {"service": {"namespace": "default", "name": "convert", "port": 0, "path": "convert//x"}},
            "conversionReviewVersions": ["v1"],
        }})),
        &[
            "spec.conversion.webhookClientConfig.service.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive",
            r#"spec.conversion.webhookClientConfig.service.path: Invalid value: "convert//x": must start with a '/'"#,
            r#"spec.conversion.webhookClientConfig.service.path: Invalid value: "convert//x": segment[1] may not be empty"#,
        ],
    );
    check(
        conversion(json!({"strategy": "Webhook", "webhook": {
            "clientConfig": {"url": "https://x.example.com", "service": {"namespace": "n", "name": "s"}},
            "conversionReviewVersions": ["v1"],
        }})),
        &[
            "spec.conversion.webhookClientConfig: Required value: exactly one of url or service is required",
        ],
    );
    check(
        conversion(json!({"strategy": "None", "webhook": {
            "clientConfig": {"url": "https://x.example.com"},
            "conversionReviewVersions": ["v1"],
        }})),
        &[
            "spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not set to Webhook",
            "spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to Webhook",
        ],
    );
    check(
        conversion(json!({"strategy": "Magic"})),
        &[
            r#"spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", "Webhook""#,
        ],
    );
}

#[test]
fn preserve_unknown_fields_and_api_approval() {
    check(
        |crd| crd["spec"]["preserveUnknownFields"] = json!(true),
        &[
            "spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        ],
    );
    let protected = |annotation: Option<&'static str>| {
        move |crd: &mut Value| {
            crd["spec"]["group"] = json!("stable.k8s.io");
            crd["metadata"]["name"] = json!("crontabs.stable.k8s.io");
            if let Some(annotation) = annotation {
                crd["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": annotation});
            }
        }
    };
    check(
        protected(None),
        &[
            r#"metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111"#,
        ],
    );
    check(protected(Some("unapproved, experimental")), &[]);
    check(
        protected(Some("https://github.com/kubernetes/kubernetes/pull/1")),
        &[],
    );
    check(
        protected(Some("yes")),
        &[
            r#"metadata.annotations[api-approved.kubernetes.io]: Invalid value: "yes": protected groups must have approval annotation "api-approved.kubernetes.io" with either a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111"#,
        ],
    );
}

#[test]
fn selectable_field_rules() {
    let fields = |value: Value| {
        move |crd: &mut Value| crd["spec"]["versions"][0]["selectableFields"] = value
    };
    check(fields(json!([{"jsonPath": ".spec.cronSpec"}])), &[]);
    check(
        fields(json!([
            {"jsonPath": ".spec.cronSpec"},
            {"jsonPath": ".spec.cronSpec"},
            {"jsonPath": ".spec.missing"},
            {"jsonPath": ".spec"},
            {"jsonPath": ".spec[0]"},
            {},
        ])),
        &[
            r#"spec.selectableFields[1].jsonPath: Duplicate value: ".spec.cronSpec""#,
            r#"spec.selectableFields[2].jsonPath: Invalid value: ".spec.missing": is an invalid path: does not refer to a valid field"#,
            r#"spec.selectableFields[3].jsonPath: Invalid value: ".spec": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."#,
            r#"spec.selectableFields[4].jsonPath: Invalid value: ".spec[0]": is an invalid path: array notation is not allowed"#,
            "spec.selectableFields[5].jsonPath: Required value",
        ],
    );
}

#[test]
fn update_rules() {
    check_update(false, |_| {}, &[]);
    check_update(
        false,
        |crd| crd["spec"]["group"] = json!("other.example.com"),
        &[r#"spec.group: Invalid value: "other.example.com": field is immutable"#],
    );
    check_update(
        false,
        |crd| crd["spec"]["names"]["plural"] = json!("crons"),
        &[r#"spec.names.plural: Invalid value: "crons": field is immutable"#],
    );
    // Scope and kind are immutable once established.
    check_update(false, |crd| crd["spec"]["scope"] = json!("Cluster"), &[]);
    check_update(
        true,
        |crd| {
            crd["spec"]["scope"] = json!("Cluster");
            crd["spec"]["names"]["kind"] = json!("Cron");
            crd["spec"]["names"]["listKind"] = json!("CronList");
        },
        &[
            r#"spec.scope: Invalid value: "Cluster": field is immutable"#,
            r#"spec.names.kind: Invalid value: "Cron": field is immutable"#,
        ],
    );
    // A version once stored must stay in spec.versions.
    check_update(
        false,
        |crd| {
            crd["spec"]["versions"][0]["name"] = json!("v2");
        },
        &[
            r#"status.storedVersions[0]: Invalid value: "v1": missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions"#,
        ],
    );
}

#[test]
fn status_update_rules() {
    let mut old = crontab();
    CrdStrategy.prepare_for_create(&mut old);
    let mut new = old.clone();
    new["status"]["acceptedNames"] = json!({"plural": "Crons", "kind": "Cron", "listKind": "Cron"});
    CrdStatusStrategy.prepare_for_update(&mut new, &old);
    assert_eq!(
        messages(&CrdStatusStrategy.validate_update(&new, &old)),
        [
            format!(r#"status.acceptedNames.plural: Invalid value: "Crons": {DNS1035}"#),
            r#"status.acceptedNames.listKind: Invalid value: "Cron": kind and listKind may not be the same"#.to_owned(),
        ]
    );
}
