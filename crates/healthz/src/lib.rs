//! Work in progress: filled by the foundation issue.
