//! `codegen.toml`: how the spec maps onto crates, plus naming overrides.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::GenError;

/// The whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The spec, relative to the workspace root.
    pub spec: String,
    /// The crate holding the schemas used by several domains.
    pub shared_crate: String,
    /// The domain crates.
    pub crates: Vec<CrateConfig>,
    /// Module names that differ from the snake_case of the tag.
    #[serde(default)]
    pub module_names: BTreeMap<String, String>,
    /// `Schema.property` → enum type name.
    #[serde(default)]
    pub enum_names: BTreeMap<String, String>,
    /// Enum type name → wire value → variant name.
    #[serde(default)]
    pub enum_variants: BTreeMap<String, BTreeMap<String, String>>,
    /// operationId → example code for the operation's docs.
    #[serde(default)]
    pub examples: BTreeMap<String, String>,
}

/// One domain crate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrateConfig {
    /// The package name, such as `la-tickets`.
    pub name: String,
    /// The facade's cargo feature.
    pub feature: String,
    /// What the crate covers, for its docs.
    pub title: String,
    /// The spec tags it serves.
    pub tags: Vec<String>,
}

impl Config {
    /// Parses the configuration text.
    pub fn parse(text: &str) -> Result<Self, GenError> {
        toml::from_str(text).map_err(|e| GenError::Config(e.to_string()))
    }

    /// The crate serving `tag`.
    pub fn crate_of_tag(&self, tag: &str) -> Option<&CrateConfig> {
        self.crates.iter().find(|c| c.tags.iter().any(|t| t == tag))
    }
}

/// The Rust name of the crate named `name`, such as `la_tickets` for `la-tickets`.
pub fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

impl CrateConfig {
    /// The crate's Rust name, such as `la_tickets`.
    pub fn ident(&self) -> String {
        crate_ident(&self.name)
    }
}
