//! Emits each crate's generated tests: one test per operation against a mockito server, one per
//! enum, and one decoder fuzz test per model.
//!
//! An operation test sets every parameter, then asserts at the server the method, the encoded
//! path, every query parameter, every header parameter, the `apikey` header and the encoded
//! body; then it decodes a realistic answer (an example with every field of the response schema
//! set) and checks that encoding the result again gives back the same JSON, which catches a
//! wrong wire name or type on any field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::emit_models::ident;
use crate::emit_operations::builder_name;
use crate::fixtures::{model_value, sample_scalar};
use crate::layout::CrateLayout;
use crate::spec::{Api, Body, EnumDef, Location, Operation, ParamType, Response, Scalar};

/// The key the generated tests authenticate with.
const API_KEY: &str = "test-api-key";

/// The content of the file uploaded by multipart tests.
const FILE_CONTENT: &str = "hello from the generated tests";

fn literal(value: &Value) -> TokenStream {
    match value {
        Value::String(s) => quote!(#s),
        Value::Bool(b) => quote!(#b),
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            quote!(#f)
        }
        Value::Number(n) => {
            let i = n.as_i64().unwrap_or_default();
            quote!(#i)
        }
        other => {
            let text = other.to_string();
            quote!(#text)
        }
    }
}

/// The text the server sees for a sample value.
fn wire_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn percent_encode_segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn response_fixture(api: &Api, op: &Operation) -> String {
    match &op.response {
        Response::Model(name) => model_value(api, name, 0).to_string(),
        Response::List(name) => {
            let item = model_value(api, name, 0);
            Value::Array(vec![item.clone(), item]).to_string()
        }
        Response::FreeForm => serde_json::json!({ "key": "value", "count": 3 }).to_string(),
        Response::Text => Value::String("invoice text".to_owned()).to_string(),
    }
}

/// How a test calls the operation: the statements before the call, the handle method's
/// arguments and the builder's setters.
#[derive(Default)]
struct Call {
    prelude: Vec<TokenStream>,
    required_args: Vec<TokenStream>,
    setters: Vec<TokenStream>,
}

impl Call {
    /// Supplies the input `name` with `value`: as an argument of the handle method when it is
    /// `required`, through its setter otherwise.
    fn supply(&mut self, name: &proc_macro2::Ident, required: bool, value: TokenStream) {
        if required {
            self.required_args.push(value);
        } else {
            self.setters.push(quote!(.#name(#value)));
        }
    }
}

fn emit_operation_test(
    api: &Api,
    krate: &CrateLayout<'_>,
    module: &str,
    op: &Operation,
) -> TokenStream {
    let krate_ident = format_ident!("{}", krate.config.ident());
    let test_name = format_ident!("{}", op.rust);
    let module_ident = format_ident!("{}", module);
    let method_ident = ident(&op.rust);
    let builder = builder_name(op);

    let mut path = format!("/api/v3{}", op.path);
    let mut call = Call::default();
    let mut query_matchers = Vec::new();
    let mut header_matchers = Vec::new();

    for param in &op.params {
        let name = ident(&param.rust);
        match (&param.ty, param.location) {
            (ParamType::Filters, _) => {
                let expected = r#"[["status","=","N"]]"#;
                let value = quote!(la_core::filters::Filters::conditions().eq("status", "N"));
                call.supply(&name, param.required, value);
                let wire = &param.wire;
                query_matchers.push(quote!(Matcher::UrlEncoded(#wire.into(), #expected.into())));
            }
            (ParamType::List(scalar), _) => {
                let values: Vec<Value> = match scalar {
                    Scalar::String => vec![Value::from("alpha"), Value::from("beta")],
                    other => vec![sample_scalar(*other, &param.wire); 2],
                };
                let literals = values.iter().map(literal);
                call.setters.push(quote!(.#name([#(#literals),*])));
                for value in &values {
                    let pattern = format!(
                        "(^|&){}={}(&|$)",
                        regex_escape(&param.wire),
                        regex_escape(&wire_text(value))
                    );
                    query_matchers.push(quote!(Matcher::Regex(#pattern.into())));
                }
            }
            (ParamType::Scalar(scalar), location) => {
                let value = sample_scalar(*scalar, &param.wire);
                let lit = literal(&value);
                call.supply(&name, param.required, lit);
                let wire = &param.wire;
                let text = wire_text(&value);
                match location {
                    Location::Path => {
                        path = path.replace(&format!("{{{wire}}}"), &percent_encode_segment(&text));
                    }
                    Location::Query => {
                        query_matchers.push(quote!(Matcher::UrlEncoded(#wire.into(), #text.into())))
                    }
                    Location::Header => {
                        header_matchers.push(quote!(.match_header(#wire, #text)));
                    }
                }
            }
        }
    }

    let body_matchers = match &op.body {
        None => quote!(.match_body(Matcher::Missing)),
        Some(Body::Model { schema, required }) => {
            let ty = format_ident!("{}", schema);
            json_body(
                quote!(#krate_ident::models::#ty),
                &model_value(api, schema, 0).to_string(),
                *required,
                &mut call,
            )
        }
        Some(Body::FreeForm { required }) => json_body(
            quote!(la_core::de::JsonObject),
            r#"{"key":"value","count":3}"#,
            *required,
            &mut call,
        ),
        Some(Body::InlineJson { fields }) => {
            let mut expected = serde_json::Map::new();
            for field in fields {
                let value = sample_scalar(field.ty, &field.wire);
                call.supply(&ident(&field.rust), field.required, literal(&value));
                expected.insert(field.wire.clone(), value);
            }
            let expected = Value::Object(expected).to_string();
            quote! {
                .match_header("content-type", "application/json")
                .match_body(Matcher::Json(serde_json::from_str(#expected).unwrap()))
            }
        }
        Some(Body::Form { fields }) => {
            let mut matchers = Vec::new();
            for field in fields {
                let value = sample_scalar(field.ty, &field.wire);
                call.supply(&ident(&field.rust), field.required, literal(&value));
                let (wire, text) = (&field.wire, wire_text(&value));
                matchers.push(quote!(Matcher::UrlEncoded(#wire.into(), #text.into())));
            }
            quote! {
                .match_header("content-type", "application/x-www-form-urlencoded")
                .match_body(Matcher::AllOf(vec![#(#matchers),*]))
            }
        }
        Some(Body::Multipart { file_field, .. }) => {
            call.required_args.push(quote!(la_core::FilePart::new(
                #FILE_CONTENT.as_bytes().to_vec(),
                "report.txt",
                "text/plain"
            )));
            let pattern = format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"report\\.txt\"\\r\\nContent-Type: text/plain\\r\\n\\r\\n{}\\r\\n",
                regex_escape(file_field),
                regex_escape(FILE_CONTENT)
            );
            quote! {
                .match_header("content-type", Matcher::Regex("^multipart/form-data; boundary=".into()))
                .match_body(Matcher::Regex(#pattern.into()))
            }
        }
    };

    let query = if query_matchers.is_empty() {
        quote!(Matcher::Missing)
    } else {
        quote!(Matcher::AllOf(vec![#(#query_matchers),*]))
    };
    let method = &op.method;
    let response = response_fixture(api, op);
    let Call {
        prelude,
        required_args,
        setters,
    } = call;
    quote! {
        #[tokio::test]
        async fn #test_name() {
            let mut server = mockito::Server::new_async().await;
            let client = client_for(&server);
            #(#prelude)*
            let mock = server
                .mock(#method, #path)
                .match_header("apikey", API_KEY)
                .match_query(#query)
                #(#header_matchers)*
                #body_matchers
                .with_status(200)
                .with_header("content-type", "application/json")
                .with_body(#response)
                .create_async()
                .await;
            let builder: #krate_ident::#module_ident::#builder = client
                .#module_ident()
                .#method_ident(#(#required_args),*)
                #(#setters)*;
            let response = builder.send().await.unwrap();
            mock.assert_async().await;
            assert_round_trip(&response, #response);
        }
    }
}

fn emit_enum_test(def: &EnumDef, path: &TokenStream) -> TokenStream {
    let name = format_ident!("{}", def.name);
    let test_name = format_ident!(
        "enum_{}",
        heck::ToSnakeCase::to_snake_case(def.name.as_str())
    );
    let known = def.variants.iter().map(|(wire, variant)| {
        let variant = format_ident!("{}", variant);
        let json = Value::String(wire.clone()).to_string();
        quote! {
            let value: #path::#name = serde_json::from_str(#json).unwrap();
            assert_eq!(value, #path::#name::#variant);
            assert_eq!(value.as_str(), #wire);
            assert_eq!(serde_json::to_string(&value).unwrap(), #json);
        }
    });
    quote! {
        #[test]
        fn #test_name() {
            #(#known)*
            let unknown: #path::#name = serde_json::from_str("\"a-value-from-the-future\"").unwrap();
            assert_eq!(unknown, #path::#name::Unknown("a-value-from-the-future".to_owned()));
            assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"a-value-from-the-future\"");
        }
    }
}

/// The header of every generated test file.
fn test_support() -> TokenStream {
    quote! {
        #![doc = "Generated tests: every operation against a mock server."]
        #![allow(clippy::unwrap_used, clippy::expect_used)]

        use mockito::Matcher;

        const API_KEY: &str = #API_KEY;

        /// A client for the mock server: no rate limit and no retries, so every call is one
        /// request.
        fn client_for(server: &mockito::ServerGuard) -> la_core::Client {
            la_core::Client::builder()
                .base_url(&format!("{}/api/v3", server.url()))
                .api_key(API_KEY)
                .no_rate_limit()
                .no_retry()
                .build()
                .unwrap()
        }

        /// Checks that the decoded value encodes back to the JSON the server sent.
        fn assert_round_trip<T: serde::Serialize>(value: &T, sent: &str) {
            let decoded = serde_json::to_value(value).unwrap();
            let sent: serde_json::Value = serde_json::from_str(sent).unwrap();
            assert_eq!(decoded, sent);
        }
    }
}

/// The operations test file of a domain crate.
pub fn emit_operations_tests(api: &Api, krate: &CrateLayout<'_>) -> TokenStream {
    let support = test_support();
    let tests = krate.tags.iter().flat_map(|tag| {
        tag.operations
            .iter()
            .map(move |op| emit_operation_test(api, krate, &tag.module, op))
    });
    let krate_ident = format_ident!("{}", krate.config.ident());
    quote! {
        #support

        use #krate_ident::ClientExt as _;

        #(#tests)*
    }
}

/// The enum test file of a crate whose models module is at `path`.
pub fn emit_enum_tests(
    api: &Api,
    enums: &std::collections::BTreeSet<String>,
    path: TokenStream,
) -> TokenStream {
    let tests = enums
        .iter()
        .filter_map(|name| api.enums.get(name))
        .map(|def| emit_enum_test(def, &path));
    quote! {
        #![doc = "Generated tests: every enum decodes its known values and keeps unknown ones."]
        #![allow(clippy::unwrap_used)]

        #(#tests)*
    }
}

/// One model (or enum, or free-form object) the decoder fuzz tests cover.
pub struct FuzzTarget {
    /// The test function's name.
    pub test: String,
    /// The name recorded in the report (the type's name).
    pub name: String,
    /// The Rust type, such as `la_tickets::models::Ticket`.
    pub ty: TokenStream,
    /// An example document with every field set.
    pub fixture: String,
}

/// The decoder fuzz targets of a crate: each schema and enum it defines, and the free-form
/// object when one of its operations answers with one.
pub fn fuzz_targets(
    api: &Api,
    schemas: &std::collections::BTreeSet<String>,
    enums: &std::collections::BTreeSet<String>,
    free_form: bool,
    path: &TokenStream,
) -> Vec<FuzzTarget> {
    let snake = |name: &str| heck::ToSnakeCase::to_snake_case(name);
    let mut targets = Vec::new();
    for name in schemas.iter().filter(|n| api.schemas.contains_key(*n)) {
        let ty = format_ident!("{}", name);
        targets.push(FuzzTarget {
            test: format!("model_{}", snake(name)),
            name: name.clone(),
            ty: quote!(#path::#ty),
            fixture: model_value(api, name, 0).to_string(),
        });
    }
    for def in enums.iter().filter_map(|name| api.enums.get(name)) {
        let ty = format_ident!("{}", def.name);
        let wire = def
            .variants
            .iter()
            .find(|(wire, _)| !wire.is_empty())
            .map(|(wire, _)| wire.clone())
            .unwrap_or_default();
        targets.push(FuzzTarget {
            test: format!("enum_{}", snake(&def.name)),
            name: def.name.clone(),
            ty: quote!(#path::#ty),
            fixture: Value::String(wire).to_string(),
        });
    }
    if free_form {
        targets.push(FuzzTarget {
            test: "free_form_object".to_owned(),
            name: "JsonObject".to_owned(),
            ty: quote!(la_core::de::JsonObject),
            fixture: serde_json::json!({ "key": "value", "count": 3, "nested": { "list": [1, "a", null] } })
                .to_string(),
        });
    }
    targets
}

/// The decoder fuzz test file of crate `package`: one test per target, each running
/// `la_reliability::decode::run` (arbitrary bytes and malformed, schema-shaped JSON).
pub fn emit_decode_fuzz_tests(package: &str, targets: &[FuzzTarget]) -> TokenStream {
    let count = proc_macro2::Literal::usize_unsuffixed(targets.len());
    let tests = targets.iter().map(|target| {
        let test = format_ident!("{}", target.test);
        let ty = &target.ty;
        let name = &target.name;
        let fixture = &target.fixture;
        quote! {
            #[test]
            fn #test() {
                type Model = #ty;
                let example = #fixture;
                la_reliability::decode::run::<Model>(PACKAGE, #name, example, MODELS).unwrap();
            }
        }
    });
    quote! {
        #![doc = " Generated tests: every model's decoder against arbitrary bytes and malformed, schema-shaped JSON (see `la_reliability::decode`)."]
        #![allow(clippy::unwrap_used)]

        /// The package under test.
        const PACKAGE: &str = #package;

        /// How many types this file fuzzes.
        const MODELS: u32 = #count;

        #(#tests)*
    }
}

/// A JSON body of type `ty` decoded from `fixture` in the test's prelude, passed as the
/// operation's argument (`required`) or through `.body(..)`; returns the body's matchers.
fn json_body(ty: TokenStream, fixture: &str, required: bool, call: &mut Call) -> TokenStream {
    call.prelude.push(quote! {
        let body: #ty = serde_json::from_str(#fixture).unwrap();
    });
    call.supply(&format_ident!("body"), required, quote!(body));
    quote! {
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(serde_json::from_str(#fixture).unwrap()))
    }
}
