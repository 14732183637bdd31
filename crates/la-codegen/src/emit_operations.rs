//! Emits the operation modules: one handle per tag, one request builder per operation, and the
//! crate's `ClientExt` trait.

use heck::ToUpperCamelCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::config::Config;
use crate::emit_models::{ident, scalar_type};
use crate::layout::{CrateLayout, TagLayout};
use crate::spec::{
    Body, BodyField, Location, Operation, Paging, Param, ParamType, Response, Scalar,
};

/// Doc attributes for a block of text, one per line.
pub fn docs(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// Names a builder method may not take, since the builder defines them itself.
const RESERVED: &[&str] = &["build", "send", "stream", "pages", "new", "client"];

/// The builder type of an operation.
pub fn builder_name(op: &Operation) -> proc_macro2::Ident {
    format_ident!("{}", op.id.to_upper_camel_case())
}

fn response_type(op: &Operation) -> TokenStream {
    match &op.response {
        Response::Model(name) => {
            let name = format_ident!("{}", name);
            quote!(super::models::#name)
        }
        Response::List(name) => {
            let name = format_ident!("{}", name);
            quote!(Vec<super::models::#name>)
        }
        Response::FreeForm => quote!(la_core::de::JsonObject),
        Response::Text => quote!(String),
    }
}

/// How an argument becomes the stored value.
#[derive(Clone, Copy)]
enum Convert {
    /// Stored as given.
    Identity,
    /// `.into()`.
    Into,
    /// Collected from an iterator of `Into<String>` items.
    CollectInto,
    /// Collected from an iterator.
    Collect,
}

impl Convert {
    fn apply(self, value: &proc_macro2::Ident) -> TokenStream {
        match self {
            Convert::Identity => quote!(#value),
            Convert::Into => quote!(#value.into()),
            Convert::CollectInto => quote!(#value.into_iter().map(Into::into).collect()),
            Convert::Collect => quote!(#value.into_iter().collect()),
        }
    }
}

/// One input of an operation, as the builder stores it.
struct Input {
    name: proc_macro2::Ident,
    /// The stored type (without `Option`).
    ty: TokenStream,
    /// The argument type of the handle method or setter.
    arg: TokenStream,
    /// Converts the argument into the stored type.
    convert: Convert,
    required: bool,
    /// Stored as a `Vec` that may stay empty (repeated query parameters).
    list: bool,
    doc: String,
}

fn scalar_input(scalar: Scalar) -> (TokenStream, TokenStream, Convert) {
    match scalar {
        Scalar::String => (quote!(String), quote!(impl Into<String>), Convert::Into),
        other => {
            let ty = scalar_type(other);
            (ty.clone(), ty, Convert::Identity)
        }
    }
}

fn param_input(param: &Param) -> Input {
    let location = match param.location {
        Location::Path => "path parameter",
        Location::Query => "query parameter",
        Location::Header => "header",
    };
    let mut doc = param
        .description
        .clone()
        .unwrap_or_else(|| format!("Sets `{}`.", param.wire));
    doc.push_str(&format!("\n\n(`{}`, {location}", param.wire));
    if let Some(default) = &param.default {
        doc.push_str(&format!("; the server's default is `{default}`"));
    }
    doc.push_str(".)");
    let name = ident(&param.rust);
    match &param.ty {
        ParamType::Scalar(scalar) => {
            let (ty, arg, convert) = scalar_input(*scalar);
            Input {
                name,
                ty,
                arg,
                convert,
                required: param.required,
                list: false,
                doc,
            }
        }
        ParamType::List(scalar) => {
            let (item, _, _) = scalar_input(*scalar);
            let (arg, convert) = match scalar {
                Scalar::String => (
                    quote!(impl IntoIterator<Item = impl Into<String>>),
                    Convert::CollectInto,
                ),
                _ => (quote!(impl IntoIterator<Item = #item>), Convert::Collect),
            };
            Input {
                name,
                ty: quote!(Vec<#item>),
                arg,
                convert,
                required: false,
                list: true,
                doc: format!("{doc}\n\nSent once per value."),
            }
        }
        ParamType::Filters => Input {
            name,
            ty: quote!(la_core::filters::Filters),
            arg: quote!(la_core::filters::Filters),
            convert: Convert::Identity,
            required: param.required,
            list: false,
            doc: format!(
                "{doc}\n\nBuilt with [`la_core::filters::Filters`]; checked before sending."
            ),
        },
    }
}

fn body_field_input(field: &BodyField, kind: &str) -> Input {
    let (ty, arg, convert) = scalar_input(field.ty);
    Input {
        name: ident(&field.rust),
        ty,
        arg,
        convert,
        required: field.required,
        list: false,
        doc: format!("Sets `{}` ({kind} field).", field.wire),
    }
}

fn inputs(op: &Operation) -> Vec<Input> {
    let mut inputs: Vec<Input> = op.params.iter().map(param_input).collect();
    match &op.body {
        None => {}
        Some(Body::Model { schema, required }) => {
            let name = format_ident!("{}", schema);
            inputs.push(Input {
                name: format_ident!("body"),
                ty: quote!(super::models::#name),
                arg: quote!(super::models::#name),
                convert: Convert::Identity,
                required: *required,
                list: false,
                doc: format!(
                    "Sets the JSON request body, a [`{schema}`](super::models::{schema}); its \
                     required fields are checked before sending."
                ),
            });
        }
        Some(Body::FreeForm { required }) => inputs.push(Input {
            name: format_ident!("body"),
            ty: quote!(la_core::de::JsonObject),
            arg: quote!(la_core::de::JsonObject),
            convert: Convert::Identity,
            required: *required,
            list: false,
            doc: "Sets the JSON request body, an object whose shape the spec leaves open."
                .to_owned(),
        }),
        Some(Body::InlineJson { fields }) => {
            inputs.extend(fields.iter().map(|f| body_field_input(f, "JSON body")));
        }
        Some(Body::Form { fields }) => {
            inputs.extend(fields.iter().map(|f| body_field_input(f, "form")));
        }
        Some(Body::Multipart { file_field, rust }) => inputs.push(Input {
            name: ident(rust),
            ty: quote!(la_core::FilePart),
            arg: quote!(la_core::FilePart),
            convert: Convert::Identity,
            required: true,
            list: false,
            doc: format!(
                "The file sent as the `{file_field}` part of the `multipart/form-data` body: \
                 its bytes, file name and content type."
            ),
        }),
    }
    // Required inputs keep their order (path parameters first); optional ones follow.
    inputs.sort_by_key(|i| !i.required);
    inputs
}

fn build_body(op: &Operation) -> TokenStream {
    let method = format_ident!("{}", op.method);
    let path = &op.path;
    let mut steps = Vec::new();
    for param in &op.params {
        let name = ident(&param.rust);
        let wire = &param.wire;
        // Strings are lent; numbers and booleans are copied.
        let value = match param.ty {
            ParamType::Scalar(Scalar::String) => quote!(&self.#name),
            _ => quote!(self.#name),
        };
        let step = match (&param.location, &param.ty, param.required) {
            (Location::Path, _, _) => {
                quote!(request = request.path_param(#wire, #value)?;)
            }
            (Location::Query, ParamType::List(_), _) => {
                quote!(request = request.query_each(#wire, &self.#name);)
            }
            (Location::Query, ParamType::Filters, true) => {
                quote!(request = request.query(#wire, self.#name.to_json()?);)
            }
            (Location::Query, ParamType::Filters, false) => quote! {
                if let Some(filters) = &self.#name {
                    request = request.query(#wire, filters.to_json()?);
                }
            },
            (Location::Query, _, true) => quote!(request = request.query(#wire, #value);),
            (Location::Query, _, false) => quote! {
                if let Some(value) = &self.#name {
                    request = request.query(#wire, value);
                }
            },
            (Location::Header, _, true) => {
                quote!(request = request.header_str(#wire, #value)?;)
            }
            (Location::Header, _, false) => quote! {
                if let Some(value) = &self.#name {
                    request = request.header_str(#wire, value)?;
                }
            },
        };
        steps.push(step);
    }
    match &op.body {
        None => {}
        Some(Body::Model { required: true, .. }) => steps.push(quote! {
            self.body.validate()?;
            request = request.json(&self.body)?;
        }),
        Some(Body::Model {
            required: false, ..
        }) => steps.push(quote! {
            if let Some(body) = &self.body {
                body.validate()?;
                request = request.json(body)?;
            }
        }),
        Some(Body::FreeForm { required: true }) => {
            steps.push(quote!(request = request.json(&self.body)?;))
        }
        Some(Body::FreeForm { required: false }) => steps.push(quote! {
            if let Some(body) = &self.body {
                request = request.json(body)?;
            }
        }),
        Some(Body::InlineJson { fields }) => {
            let pushes = fields.iter().map(|f| {
                let (wire, name) = (&f.wire, ident(&f.rust));
                if f.required {
                    quote! {
                        body.insert(#wire.to_owned(), la_core::__private::serde_json::json!(self.#name));
                    }
                } else {
                    quote! {
                        if let Some(value) = &self.#name {
                            body.insert(#wire.to_owned(), la_core::__private::serde_json::json!(value));
                        }
                    }
                }
            });
            steps.push(quote! {
                let mut body = la_core::de::JsonObject::new();
                #(#pushes)*
                request = request.json(&body)?;
            });
        }
        Some(Body::Form { fields }) => {
            let required = fields.iter().filter(|f| f.required).map(|f| {
                let (wire, name) = (&f.wire, ident(&f.rust));
                quote!((#wire, self.#name.to_string()))
            });
            let optional: Vec<_> = fields
                .iter()
                .filter(|f| !f.required)
                .map(|f| {
                    let (wire, name) = (&f.wire, ident(&f.rust));
                    quote! {
                        if let Some(value) = &self.#name {
                            form.push((#wire, value.to_string()));
                        }
                    }
                })
                .collect();
            let binding = if optional.is_empty() {
                quote!(let form: Vec<(&str, String)>)
            } else {
                quote!(let mut form: Vec<(&str, String)>)
            };
            steps.push(quote! {
                #binding = vec![#(#required),*];
                #(#optional)*
                request = request.form(&form)?;
            });
        }
        Some(Body::Multipart { file_field, rust }) => {
            let name = ident(rust);
            steps.push(quote! {
                request = request.multipart(la_core::Multipart::new().file(#file_field, self.#name.clone()));
            });
        }
    }
    if steps.is_empty() {
        return quote! {
            Ok(la_core::Request::new(la_core::Method::#method, #path))
        };
    }
    quote! {
        let mut request = la_core::Request::new(la_core::Method::#method, #path);
        #(#steps)*
        Ok(request)
    }
}

fn operation_doc(op: &Operation, config: &Config) -> String {
    let mut doc = format!(
        "{}.\n\n`{} {}`",
        op.summary.trim_end_matches('.'),
        op.method,
        op.path
    );
    if op.inferred {
        doc.push_str(
            "\n\n**Shape inferred:** LiveAgent publishes no definition of this operation; its \
             request and response shapes are best guesses (`x-inferred` in the spec).",
        );
    }
    if let Some(paging) = op.paging {
        let how = match paging {
            Paging::Numbered => "page-numbered (`_page`, `_perPage`)",
            Paging::Cursor => "cursor-paged (`_cursor`, `_perPage`)",
        };
        doc.push_str(&format!(
            "\n\nA {how} list: `.send()` returns one page; `.stream()` yields every item and \
             `.pages()` every page."
        ));
    }
    if let Some(example) = config.examples.get(&op.id) {
        doc.push_str("\n\n# Example\n\n```no_run\n");
        doc.push_str(
            "# async fn example(client: la_core::Client) -> Result<(), la_core::Error> {\n",
        );
        doc.push_str(example.trim_end());
        doc.push_str("\n# Ok(())\n# }\n```");
    }
    doc
}

fn emit_operation(op: &Operation, handle: &str, config: &Config) -> (TokenStream, TokenStream) {
    let builder = builder_name(op);
    let method = ident(&op.rust);
    let inputs = inputs(op);
    for input in &inputs {
        assert!(
            !RESERVED.contains(&input.name.to_string().as_str()),
            "{}: input name {} is reserved",
            op.id,
            input.name
        );
    }
    let required: Vec<&Input> = inputs.iter().filter(|i| i.required).collect();
    let args = required.iter().map(|i| {
        let (name, arg) = (&i.name, &i.arg);
        quote!(#name: #arg)
    });
    let inits = inputs.iter().map(|i| {
        let name = &i.name;
        if i.required {
            match i.convert {
                Convert::Identity => quote!(#name,),
                other => {
                    let value = other.apply(name);
                    quote!(#name: #value,)
                }
            }
        } else if i.list {
            quote!(#name: Vec::new(),)
        } else {
            quote!(#name: None,)
        }
    });
    let fields = inputs.iter().map(|i| {
        let (name, ty) = (&i.name, &i.ty);
        if i.required || i.list {
            quote!(#name: #ty,)
        } else {
            quote!(#name: Option<#ty>,)
        }
    });
    let setters = inputs.iter().filter(|i| !i.required).map(|i| {
        let (name, arg) = (&i.name, &i.arg);
        let convert = i.convert.apply(&format_ident!("value"));
        let doc = docs(&i.doc);
        let store = if i.list {
            quote!(self.#name = #convert;)
        } else {
            quote!(self.#name = Some(#convert);)
        };
        quote! {
            #doc
            pub fn #name(mut self, value: #arg) -> Self {
                #store
                self
            }
        }
    });
    let response = response_type(op);
    let build = build_body(op);
    let list = match (&op.paging, &op.response) {
        (Some(paging), Response::List(item)) => {
            let item = format_ident!("{}", item);
            let style = match paging {
                Paging::Numbered => quote!(la_core::PageStyle::Numbered),
                Paging::Cursor => quote!(la_core::PageStyle::Cursor),
            };
            quote! {
                /// Streams every item of the list, page after page; each page is one request
                /// through the whole middleware stack. Starts at the page or cursor set on this
                /// builder, if any. Without `per_page`, asks for
                /// [`LARGEST_PER_PAGE`](la_core::pagination::LARGEST_PER_PAGE) items per page;
                /// a server that serves fewer is followed at its size (see
                /// [`la_core::pagination`]).
                pub fn stream(self) -> la_core::pagination::BoxStream<'static, Result<super::models::#item, la_core::Error>> {
                    match self.build() {
                        Ok(request) => la_core::pagination::items(self.client, request, #style),
                        Err(error) => la_core::pagination::failed(error),
                    }
                }

                /// Streams the pages of the list; each [`Page`](la_core::Page) says where the
                /// next one starts (and with which page size), so a listing can be resumed
                /// later. Page sizes as for `stream`.
                pub fn pages(self) -> la_core::pagination::BoxStream<'static, Result<la_core::Page<super::models::#item>, la_core::Error>> {
                    match self.build() {
                        Ok(request) => la_core::pagination::pages(self.client, request, #style),
                        Err(error) => la_core::pagination::failed(error),
                    }
                }
            }
        }
        _ => quote!(),
    };
    let send_doc = match (op.paging, &op.response) {
        (Some(Paging::Cursor), Response::List(_)) => quote! {
            /// Sends the request and decodes the answer: one page of the list, with the
            /// parameters set on this builder.
            ///
            /// The next page's cursor comes back in the `next_page_cursor` response header,
            /// which this does not return. To get it, use [`pages`](Self::pages) instead: its
            /// first [`Page`](la_core::Page) holds the cursor in `next` (set `per_page` for the
            /// same page as here: without it, `pages` asks for larger pages). Or send the
            /// request of [`build`](Self::build) with [`la_core::Client::execute_decoded`] and
            /// read the header.
        },
        (Some(Paging::Numbered), Response::List(_)) => quote! {
            /// Sends the request and decodes the answer: one page of the list, with the
            /// parameters set on this builder only (the server's default page size when
            /// `per_page` is not set). For every page, use [`stream`](Self::stream) or
            /// [`pages`](Self::pages).
        },
        _ => quote! {
            /// Sends the request and decodes the answer.
        },
    };
    let op_doc = operation_doc(op, config);
    let method_doc = docs(&op_doc);
    let builder_doc = docs(&format!(
        "The request builder of [`{handle}::{}`]: {} (`{} {}`).\n\nSet optional parameters \
         with its methods, then call `.send().await`.",
        op.rust,
        op.summary.trim_end_matches('.'),
        op.method,
        op.path
    ));
    let handle_method = quote! {
        #method_doc
        pub fn #method(&self, #(#args),*) -> #builder {
            #builder {
                client: self.client.clone(),
                #(#inits)*
            }
        }
    };
    let builder_item = quote! {
        #builder_doc
        #[derive(Clone, Debug)]
        #[must_use = "a request builder does nothing until `.send().await`"]
        pub struct #builder {
            client: la_core::Client,
            #(#fields)*
        }

        impl #builder {
            #(#setters)*

            /// Builds the request without sending it (to inspect it, or to send it with
            /// [`la_core::Client::send`]).
            pub fn build(&self) -> Result<la_core::Request, la_core::Error> {
                #build
            }

            #send_doc
            pub fn send(
                self,
            ) -> impl std::future::Future<Output = Result<#response, la_core::Error>> + Send + 'static
            {
                let request = self.build();
                self.client.execute_built(request)
            }

            #list
        }
    };
    (handle_method, builder_item)
}

/// The module of one tag.
pub fn emit_tag_module(tag: &TagLayout<'_>, config: &Config) -> TokenStream {
    let handle = format_ident!("{}", tag.handle);
    let (methods, builders): (Vec<_>, Vec<_>) = tag
        .operations
        .iter()
        .map(|op| emit_operation(op, &tag.handle, config))
        .unzip();
    let doc = docs(&format!(
        "The operations of the `{}` tag ({} operations). Get it with `client.{}()` (from the \
         crate's `ClientExt`) or [`{}::new`].",
        tag.tag,
        tag.operations.len(),
        tag.module,
        tag.handle
    ));
    quote! {
        #doc
        #[derive(Clone, Debug)]
        pub struct #handle {
            client: la_core::Client,
        }

        impl #handle {
            /// The handle for `client`.
            pub fn new(client: la_core::Client) -> Self {
                Self { client }
            }

            #(#methods)*
        }

        #(#builders)*
    }
}

/// The crate's `generated/mod.rs`: module declarations and the `ClientExt` trait.
pub fn emit_crate_root(krate: &CrateLayout<'_>) -> TokenStream {
    let modules = krate.tags.iter().map(|t| {
        let module = format_ident!("{}", t.module);
        let doc = docs(&format!("The `{}` operations.", t.tag));
        quote! {
            #doc
            pub mod #module;
        }
    });
    let signatures = krate.tags.iter().map(|t| {
        let module = format_ident!("{}", t.module);
        let handle = format_ident!("{}", t.handle);
        let doc = docs(&format!("The operations of the `{}` tag.", t.tag));
        quote! {
            #doc
            fn #module(&self) -> #module::#handle;
        }
    });
    let impls = krate.tags.iter().map(|t| {
        let module = format_ident!("{}", t.module);
        let handle = format_ident!("{}", t.handle);
        quote! {
            fn #module(&self) -> #module::#handle {
                #module::#handle::new(self.clone())
            }
        }
    });
    let trait_doc = docs(&format!(
        "Adds the {} operations to [`la_core::Client`].\n\nBring it into scope with `use {}::ClientExt as _;`.",
        krate.config.title,
        krate.config.ident()
    ));
    quote! {
        /// The models (schemas) these operations use.
        pub mod models;
        #(#modules)*

        #trait_doc
        pub trait ClientExt {
            #(#signatures)*
        }

        impl ClientExt for la_core::Client {
            #(#impls)*
        }
    }
}
