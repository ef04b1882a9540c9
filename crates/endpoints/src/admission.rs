//! Admission: plugins that see every write before it is stored and may
//! refuse it (Go: `k8s.io/apiserver/pkg/admission`: `Attributes`,
//! `Interface.Handles`, the chain that stops at the first error, and
//! `NewForbidden`).
//!
//! Deliberate differences from Go, for now: plugins only validate (no
//! mutation, no reinvocation); updates and patches are admitted as
//! `Update` before the update loop, so an update that creates the object
//! (create-on-update, apply) is not admitted as `Create`; no user info.

use std::fmt;
use std::sync::Arc;

use kapi_core::StatusError;
use serde_json::Value;

/// What a request does (Go: `admission.Operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// POST of a new object.
    Create,
    /// PUT or PATCH of an existing object.
    Update,
    /// DELETE of one object (or each object of a collection).
    Delete,
}

/// What a plugin sees of a request (Go: `admission.Attributes`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Attributes {
    /// The operation.
    pub operation: Operation,
    /// The API group of the resource (`""` for core).
    pub group: String,
    /// The API version of the request.
    pub version: String,
    /// The resource (`configmaps`).
    pub resource: String,
    /// The subresource, or empty.
    pub subresource: String,
    /// The request's namespace, or empty for cluster-scoped resources.
    pub namespace: String,
    /// The object's name (empty on a create whose name is generated).
    pub name: String,
    /// The object sent, on create and update.
    pub object: Option<Value>,
    /// Whether the request is a dry run.
    pub dry_run: bool,
}

impl Attributes {
    /// `resource[.group]`, as messages name it.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// 403 for this request (Go: `admission.NewForbidden`): the name is the
    /// request's, else the object's name or `generateName`, else
    /// `Unknown`.
    pub fn forbidden(&self, reason: impl fmt::Display) -> StatusError {
        let from_object = |field: &str| {
            self.object
                .as_ref()
                .and_then(|object| object["metadata"][field].as_str())
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
        };
        let name = if self.name.is_empty() {
            from_object("name")
                .or_else(|| from_object("generateName"))
                .unwrap_or_else(|| "Unknown".to_owned())
        } else {
            self.name.clone()
        };
        StatusError::forbidden(&self.qualified_resource(), &name, reason)
    }
}

/// One admission plugin (Go: `admission.Interface` with
/// `ValidationInterface`).
#[async_trait::async_trait]
pub trait AdmissionPlugin: Send + Sync + fmt::Debug {
    /// The plugin's name (`NamespaceLifecycle`).
    fn name(&self) -> &str;

    /// Whether the plugin looks at `operation` at all.
    fn handles(&self, operation: Operation) -> bool;

    /// Admits the request, or refuses it with the `Status` to answer.
    async fn admit(&self, attributes: &Attributes) -> Result<(), StatusError>;
}

/// The plugins of a server, run in order; the first refusal wins (Go:
/// `admission.chainAdmissionHandler`).
#[derive(Debug, Clone, Default)]
pub struct Admission {
    plugins: Vec<Arc<dyn AdmissionPlugin>>,
}

impl Admission {
    /// A chain of `plugins`, run in this order.
    pub fn new(plugins: Vec<Arc<dyn AdmissionPlugin>>) -> Self {
        Self { plugins }
    }

    /// The same chain with `plugin` run last.
    #[must_use]
    pub fn with_plugin(mut self, plugin: Arc<dyn AdmissionPlugin>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// Runs every plugin that handles the operation.
    ///
    /// # Errors
    /// The first plugin's refusal.
    pub async fn admit(&self, attributes: &Attributes) -> Result<(), StatusError> {
        for plugin in &self.plugins {
            if plugin.handles(attributes.operation) {
                plugin.admit(attributes).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attributes(name: &str, object: Option<Value>) -> Attributes {
        Attributes {
            operation: Operation::Create,
            group: "coordination.k8s.io".to_owned(),
            version: "v1".to_owned(),
            resource: "leases".to_owned(),
            subresource: String::new(),
            namespace: "ns".to_owned(),
            name: name.to_owned(),
            object,
            dry_run: false,
        }
    }

    #[test]
    fn forbidden_names_the_object_as_go_does() {
        let check = |attrs: Attributes, message: &str| {
            let err = attrs.forbidden("no");
            assert_eq!(err.code(), http::StatusCode::FORBIDDEN);
            assert_eq!(err.message(), message);
        };
        check(
            attributes("a", None),
            "leases.coordination.k8s.io \"a\" is forbidden: no",
        );
        check(
            attributes("", Some(json!({"metadata": {"name": "b"}}))),
            "leases.coordination.k8s.io \"b\" is forbidden: no",
        );
        check(
            attributes("", Some(json!({"metadata": {"generateName": "c-"}}))),
            "leases.coordination.k8s.io \"c-\" is forbidden: no",
        );
        check(
            attributes("", None),
            "leases.coordination.k8s.io \"Unknown\" is forbidden: no",
        );
    }

    #[derive(Debug)]
    struct Refuse(&'static str, Operation);

    #[async_trait::async_trait]
    impl AdmissionPlugin for Refuse {
        fn name(&self) -> &str {
            self.0
        }
        fn handles(&self, operation: Operation) -> bool {
            operation == self.1
        }
        async fn admit(&self, attributes: &Attributes) -> Result<(), StatusError> {
            Err(attributes.forbidden(self.0))
        }
    }

    #[tokio::test]
    async fn the_first_plugin_handling_the_operation_refuses() {
        let chain = Admission::new(vec![
            Arc::new(Refuse("deletes", Operation::Delete)),
            Arc::new(Refuse("first", Operation::Create)),
            Arc::new(Refuse("second", Operation::Create)),
        ]);
        let err = chain.admit(&attributes("a", None)).await.unwrap_err();
        assert!(err.message().ends_with("forbidden: first"), "{err:?}");
        let mut update = attributes("a", None);
        update.operation = Operation::Update;
        chain.admit(&update).await.unwrap();
    }
}
