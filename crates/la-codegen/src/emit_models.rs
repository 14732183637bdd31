//! Emits the model structs and string enums.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::config::crate_ident;
use crate::spec::{Api, EnumDef, FieldType, Scalar, Schema, is_keyword};

/// An identifier for a Rust name, raw when it is a keyword (`type` → `r#type`).
pub fn ident(name: &str) -> proc_macro2::Ident {
    if is_keyword(name) {
        format_ident!("r#{}", name)
    } else {
        format_ident!("{}", name)
    }
}

/// The Rust type of a field, inside `Option`.
pub fn field_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Scalar(scalar) => scalar_type(*scalar),
        FieldType::Enum(name) | FieldType::Model(name) => {
            let name = format_ident!("{}", name);
            quote!(#name)
        }
        FieldType::FreeForm => quote!(la_core::de::JsonObject),
        FieldType::List(inner) => {
            let inner = field_type(inner);
            quote!(Vec<#inner>)
        }
    }
}

/// The Rust type of a scalar.
pub fn scalar_type(scalar: Scalar) -> TokenStream {
    match scalar {
        Scalar::String => quote!(String),
        Scalar::Integer => quote!(i64),
        Scalar::Number => quote!(f64),
        Scalar::Boolean => quote!(bool),
    }
}

fn field_doc(field: &crate::spec::Field) -> String {
    let mut doc = format!("`{}`", field.wire);
    if field.required {
        doc.push_str(" (required in requests)");
    }
    match (&field.ty, field.format.as_deref()) {
        (_, Some("date-time")) => {
            doc.push_str(": a date and time, as LiveAgent writes it (`YYYY-MM-DD HH:MM:SS`)")
        }
        (FieldType::Enum(name), _) => doc.push_str(&format!(": see [`{name}`]")),
        _ => {}
    }
    doc.push('.');
    doc
}

/// One model struct with its `Lenient`, constructor and validation.
fn emit_schema(schema: &Schema) -> TokenStream {
    let name = format_ident!("{}", schema.name);
    let doc = format!(
        "The `{}` schema of the LiveAgent API.\n\nEvery field is optional when decoding (the \
         spec does not state which fields the server always sends), unknown fields are ignored, \
         and fields of a surprising kind decode as `None` instead of failing.",
        schema.name
    );
    if schema.fields.is_empty() {
        let doc = crate::emit_operations::docs(&format!(
            "{doc}\n\nIt has no fields: any JSON value (or an empty body) decodes into it."
        ));
        return quote! {
            #doc
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
            #[serde(crate = "la_core::__private::serde")]
            pub struct #name {}

            impl<'de> serde::Deserialize<'de> for #name {
                fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    <serde::de::IgnoredAny as serde::Deserialize>::deserialize(deserializer)?;
                    Ok(Self {})
                }
            }

            impl la_core::de::Lenient for #name {
                fn lenient<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                    <serde::de::IgnoredAny as serde::Deserialize>::deserialize(deserializer)?;
                    Ok(Some(Self {}))
                }
            }

            impl #name {
                /// Checks the fields the spec requires in requests; it requires none.
                pub fn validate(&self) -> Result<(), la_core::Error> {
                    Ok(())
                }
            }
        };
    }

    let fields = schema.fields.iter().map(|field| {
        let rust = ident(&field.rust);
        let wire = &field.wire;
        let ty = field_type(&field.ty);
        let doc = crate::emit_operations::docs(&field_doc(field));
        let rename = if *wire == field.rust {
            quote!()
        } else {
            quote!(rename = #wire,)
        };
        quote! {
            #doc
            #[serde(#rename skip_serializing_if = "Option::is_none")]
            pub #rust: Option<#ty>,
        }
    });
    // Decoding goes through `la_core::de::Model`: a key → position match and a position → field
    // match, with the field loop and the forgiving rules in la-core.
    let positions = (0..schema.fields.len()).map(proc_macro2::Literal::usize_unsuffixed);
    let keys = schema.fields.iter().map(|field| &field.wire);
    let reads = schema.fields.iter().map(|field| ident(&field.rust));
    let key_positions = positions.clone();
    let schema_name = &schema.name;

    let required: Vec<_> = schema.fields.iter().filter(|f| f.required).collect();
    let constructor = if required.is_empty() {
        quote!()
    } else {
        let args = required.iter().map(|f| {
            let rust = ident(&f.rust);
            match &f.ty {
                FieldType::Scalar(Scalar::String) => quote!(#rust: impl Into<String>),
                FieldType::Enum(name) => {
                    let name = format_ident!("{}", name);
                    quote!(#rust: impl Into<#name>)
                }
                other => {
                    let ty = field_type(other);
                    quote!(#rust: #ty)
                }
            }
        });
        let sets = required.iter().map(|f| {
            let rust = ident(&f.rust);
            match &f.ty {
                FieldType::Scalar(Scalar::String) | FieldType::Enum(_) => {
                    quote!(#rust: Some(#rust.into()),)
                }
                _ => quote!(#rust: Some(#rust),),
            }
        });
        let list = required
            .iter()
            .map(|f| format!("`{}`", f.wire))
            .collect::<Vec<_>>()
            .join(", ");
        let doc = format!(
            "A value with the fields the spec requires in requests ({list}); set the others \
             on the returned value."
        );
        let doc = crate::emit_operations::docs(&doc);
        let rest = if required.len() < schema.fields.len() {
            quote!(..Self::default())
        } else {
            quote!()
        };
        quote! {
            #doc
            pub fn new(#(#args),*) -> Self {
                Self {
                    #(#sets)*
                    #rest
                }
            }
        }
    };
    let checks = required.iter().map(|f| {
        let rust = ident(&f.rust);
        let message = format!("`{}` is required by the `{}` schema", f.wire, schema.name);
        quote! {
            if self.#rust.is_none() {
                return Err(la_core::Error::invalid_request(#message));
            }
        }
    });
    let validate_doc = if required.is_empty() {
        "Checks the fields the spec requires in requests; it requires none.".to_owned()
    } else {
        "Checks that the fields the spec requires in requests are set; operations call it \
         before sending."
            .to_owned()
    };

    let doc = crate::emit_operations::docs(&doc);
    let validate_doc = crate::emit_operations::docs(&validate_doc);
    quote! {
        #doc
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
        #[serde(crate = "la_core::__private::serde")]
        pub struct #name {
            #(#fields)*
        }

        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                la_core::de::deserialize_model(deserializer)
            }
        }

        impl la_core::de::Lenient for #name {
            fn lenient<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                la_core::de::lenient_struct(deserializer)
            }
        }

        impl la_core::de::Model for #name {
            const NAME: &'static str = #schema_name;

            fn field_index(key: &str) -> Option<usize> {
                match key {
                    #(#keys => Some(#key_positions),)*
                    _ => None,
                }
            }

            fn read_field<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                index: usize,
                map: &mut A,
            ) -> Result<(), A::Error> {
                match index {
                    #(#positions => self.#reads = la_core::de::field(map)?,)*
                    _ => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(())
            }
        }

        impl #name {
            #constructor

            #validate_doc
            pub fn validate(&self) -> Result<(), la_core::Error> {
                #(#checks)*
                Ok(())
            }
        }
    }
}

/// One string enum that keeps unknown values.
fn emit_enum(def: &EnumDef) -> TokenStream {
    let name = format_ident!("{}", def.name);
    let used_by = def
        .used_by
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let doc = format!(
        "Values of {used_by}.\n\nA value this version of the SDK does not know decodes as \
         [`{}::Unknown`] and is sent back unchanged, so a new server value never breaks a \
         program.",
        def.name
    );
    let variants = def.variants.iter().map(|(wire, variant)| {
        let variant = format_ident!("{}", variant);
        let doc = if wire.is_empty() {
            "Sent as an empty string.".to_owned()
        } else {
            format!("Sent as `{wire}`.")
        };
        let doc = crate::emit_operations::docs(&doc);
        quote! {
            #doc
            #variant,
        }
    });
    let to_wire = def.variants.iter().map(|(wire, variant)| {
        let variant = format_ident!("{}", variant);
        quote!(Self::#variant => #wire,)
    });
    let from_wire = def.variants.iter().map(|(wire, variant)| {
        let variant = format_ident!("{}", variant);
        quote!(#wire => Self::#variant,)
    });
    let doc = crate::emit_operations::docs(&doc);
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A value this version of the SDK does not know, kept as sent.
            Unknown(String),
        }

        impl #name {
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#to_wire)*
                    Self::Unknown(value) => value,
                }
            }
        }

        impl From<String> for #name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    #(#from_wire)*
                    _ => Self::Unknown(value),
                }
            }
        }

        impl From<&str> for #name {
            fn from(value: &str) -> Self {
                Self::from(value.to_owned())
            }
        }

        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                la_core::de::deserialize_enum(deserializer)
            }
        }

        impl la_core::de::Lenient for #name {
            fn lenient<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error> {
                la_core::de::lenient_enum(deserializer)
            }
        }
    }
}

/// The `models` module of a crate: its own schemas and enums, and re-exports of shared ones.
pub fn emit_models_module(
    api: &Api,
    schemas: &BTreeSet<String>,
    enums: &BTreeSet<String>,
    shared: &BTreeSet<String>,
    shared_crate: &str,
) -> TokenStream {
    let reexports = if shared.is_empty() {
        quote!()
    } else {
        let krate = format_ident!("{}", crate_ident(shared_crate));
        let names = shared.iter().map(|n| format_ident!("{}", n));
        quote! {
            pub use #krate::models::{#(#names),*};
        }
    };
    let uses_serde = !enums.is_empty() || !schemas.is_empty();
    let enums = enums
        .iter()
        .filter_map(|name| api.enums.get(name))
        .map(emit_enum);
    let schemas = schemas
        .iter()
        .filter_map(|name| api.schemas.get(name))
        .map(emit_schema);
    let serde = if uses_serde {
        quote!(
            use la_core::__private::serde;
        )
    } else {
        quote!()
    };
    quote! {
        #serde

        #reexports

        #(#enums)*

        #(#schemas)*
    }
}
