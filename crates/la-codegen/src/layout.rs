//! Which crate each operation, schema and enum goes to.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::GenError;
use crate::config::{Config, CrateConfig};
use crate::spec::{Api, Body, FieldType, Operation, Response};

/// The operations of one tag: one module, one handle.
#[derive(Debug)]
pub struct TagLayout<'a> {
    /// The spec tag.
    pub tag: String,
    /// The module (and `ClientExt` method) name.
    pub module: String,
    /// The handle type, such as `TicketsApi`.
    pub handle: String,
    /// Its operations, sorted by operationId.
    pub operations: Vec<&'a Operation>,
}

/// One domain crate.
#[derive(Debug)]
pub struct CrateLayout<'a> {
    /// Its configuration.
    pub config: &'a CrateConfig,
    /// Its tags, in configuration order.
    pub tags: Vec<TagLayout<'a>>,
    /// Schemas defined in this crate.
    pub schemas: BTreeSet<String>,
    /// Enums defined in this crate.
    pub enums: BTreeSet<String>,
    /// Schemas and enums of the shared crate that this crate uses.
    pub shared: BTreeSet<String>,
}

/// The whole layout.
#[derive(Debug)]
pub struct Layout<'a> {
    /// The domain crates, in configuration order.
    pub crates: Vec<CrateLayout<'a>>,
    /// Schemas of the shared crate.
    pub shared_schemas: BTreeSet<String>,
    /// Enums of the shared crate.
    pub shared_enums: BTreeSet<String>,
}

fn direct_schemas(op: &Operation) -> Vec<String> {
    let mut names = Vec::new();
    match &op.response {
        Response::Model(name) | Response::List(name) => names.push(name.clone()),
        Response::FreeForm | Response::Text => {}
    }
    if let Some(Body::Model { schema, .. }) = &op.body {
        names.push(schema.clone());
    }
    names
}

fn field_refs(ty: &FieldType, schemas: &mut Vec<String>, enums: &mut Vec<String>) {
    match ty {
        FieldType::Model(name) => schemas.push(name.clone()),
        FieldType::Enum(name) => enums.push(name.clone()),
        FieldType::List(inner) => field_refs(inner, schemas, enums),
        FieldType::Scalar(_) | FieldType::FreeForm => {}
    }
}

impl<'a> Layout<'a> {
    /// Assigns everything.
    pub fn new(api: &'a Api, config: &'a Config) -> Result<Self, GenError> {
        // The operations of each tag, sorted by operationId.
        let mut tag_operations: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
        for op in &api.operations {
            tag_operations.entry(op.tag.as_str()).or_default().push(op);
        }
        // Schemas and enums reachable from each crate's operations, and the schemas using
        // each enum.
        let mut schema_users: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut enum_users: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut enum_schemas: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (index, krate) in config.crates.iter().enumerate() {
            let mut stack: Vec<String> = tag_operations
                .iter()
                .filter(|(tag, _)| krate.tags.iter().any(|t| t == *tag))
                .flat_map(|(_, ops)| ops.iter().copied())
                .flat_map(direct_schemas)
                .collect();
            let mut seen = BTreeSet::new();
            while let Some(name) = stack.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let schema = api.schemas.get(&name).ok_or_else(|| {
                    GenError::Spec(format!("schema {name} is referenced but not defined"))
                })?;
                let mut enums = Vec::new();
                for field in &schema.fields {
                    field_refs(&field.ty, &mut stack, &mut enums);
                }
                for e in enums {
                    enum_users.entry(e.clone()).or_default().insert(index);
                    enum_schemas.entry(e).or_default().insert(name.clone());
                }
                schema_users.entry(name).or_default().insert(index);
            }
        }
        let shared_schemas: BTreeSet<String> = schema_users
            .iter()
            .filter(|(_, users)| users.len() > 1)
            .map(|(name, _)| name.clone())
            .collect();
        // An enum is shared when several crates use it or a shared schema does.
        let shared_enums: BTreeSet<String> = enum_users
            .iter()
            .filter(|(name, users)| {
                users.len() > 1
                    || enum_schemas
                        .get(*name)
                        .is_some_and(|schemas| !schemas.is_disjoint(&shared_schemas))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in api.schemas.keys() {
            if !schema_users.contains_key(name) {
                return Err(GenError::Spec(format!(
                    "schema {name} is not used by any operation"
                )));
            }
        }

        let mut crates = Vec::new();
        for (index, krate) in config.crates.iter().enumerate() {
            let owned = |users: &BTreeMap<String, BTreeSet<usize>>, shared: &BTreeSet<String>| {
                users
                    .iter()
                    .filter(|(name, u)| u.contains(&index) && !shared.contains(*name))
                    .map(|(name, _)| name.clone())
                    .collect::<BTreeSet<_>>()
            };
            let schemas = owned(&schema_users, &shared_schemas);
            let enums = owned(&enum_users, &shared_enums);
            let shared = schema_users
                .iter()
                .chain(enum_users.iter())
                .filter(|(name, u)| {
                    u.contains(&index)
                        && (shared_schemas.contains(*name) || shared_enums.contains(*name))
                })
                .map(|(name, _)| name.clone())
                .collect();
            let mut tags = Vec::new();
            for tag in &krate.tags {
                let operations = tag_operations
                    .get(tag.as_str())
                    .cloned()
                    .unwrap_or_default();
                if operations.is_empty() {
                    return Err(GenError::Config(format!("tag {tag} has no operations")));
                }
                let module = config
                    .module_names
                    .get(tag)
                    .cloned()
                    .unwrap_or_else(|| tag.to_snake_case());
                let handle = if module == "api" || module.ends_with("_api") {
                    module.to_upper_camel_case()
                } else {
                    format!("{}Api", module.to_upper_camel_case())
                };
                tags.push(TagLayout {
                    tag: tag.clone(),
                    handle,
                    module,
                    operations,
                });
            }
            crates.push(CrateLayout {
                config: krate,
                tags,
                schemas,
                enums,
                shared,
            });
        }
        Ok(Self {
            crates,
            shared_schemas,
            shared_enums,
        })
    }
}
