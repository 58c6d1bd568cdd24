//! What a request may hold, written into the document once for every operation:
//!
//! - every text a client sends (a path segment, a query parameter, a body's member or
//!   member name) may not hold a character XML cannot carry (`strict.rs` refuses it);
//! - a body's unknown members are ignored, but held to the same rule;
//! - a form or multipart body is text: a member is never `null` (an empty value clears it),
//!   and a structured member (`paymentTypes`, `contacts`...) is JSON text;
//! - a customer's `{id}` is its number or its UUID, wherever a path names it;
//! - an optional query parameter left blank (`?sort=`) is one left out.

use std::collections::BTreeSet;

use utoipa::openapi::encoding::Encoding;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, Array, ArrayItems, Components, KnownFormat, Object,
    ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{OpenApi, Ref, RefOr, Required};

/// Text XML 1.0 can carry: no control character but tab, newline and carriage return, and
/// neither U+FFFE nor U+FFFF (see `strict.rs`).
const XML_TEXT: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]*$";

/// The rules of text a schema in the code names by `pattern = "{name}"`, written here once:
/// the name, the pattern, and whether a JSON number or boolean (read as its text) keeps the
/// rule too. Each pattern keeps to the characters XML can carry.
const TEXT_RULES: [(&str, &str, bool); 5] = [
    // Not blank.
    (
        "{non_blank}",
        r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]*[^\s\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF][^\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]*$",
        true,
    ),
    // A reference: not blank, no space at either end, no slash.
    (
        "{reference}",
        r"^[^\s/\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF](?:[^/\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]*[^\s/\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF])?$",
        true,
    ),
    // A customer's name: not blank, no space first.
    (
        "{name}",
        r"^[^\s\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF][^\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]*$",
        true,
    ),
    // A file's name: not blank; no quote, slash, backslash or control character.
    (
        "{file_name}",
        r#"^[^"/\\\u0000-\u001F\u007F-\u009F\uFFFE\uFFFF]*[^\s"/\\\u0000-\u001F\u007F-\u009F\uFFFE\uFFFF][^"/\\\u0000-\u001F\u007F-\u009F\uFFFE\uFFFF]*$"#,
        true,
    ),
    // An e-mail address: one `@`, no space, a dotted domain whose labels neither start nor
    // end with `-`.
    (
        "{email}",
        r"^\s*[^\s@\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]+@(?:[^\s@.\-\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF](?:[^\s@.\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]*[^\s@.\-\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF])?\.)+[^\s@.\-\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF](?:[^\s@.\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]*[^\s@.\-\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF])?\s*$",
        false,
    ),
];

/// The name of a multipart part: its `Content-Disposition` header holds it as a quoted string
/// without escapes, so no quote, backslash, line break or DEL.
const PART_NAME: &str = r#"^[^"\\\r\n\u007F\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]*$"#;

/// The body types whose members are text.
const FORMS: [&str; 2] = ["application/x-www-form-urlencoded", "multipart/form-data"];

/// The component of a member nobody reads.
const IGNORED: &str = "Ignored";

/// The component of a customer's `{id}`.
const CUSTOMER_KEY: &str = "CustomerKey";

/// The modifier (see the module docs).
pub(super) struct Requests;

impl utoipa::Modify for Requests {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        add_shared(components);
        let (mut read, mut written) = (BTreeSet::new(), BTreeSet::new());
        for item in openapi.paths.paths.values_mut() {
            for operation in super::answers::operations_mut(item) {
                if let Some(RefOr::T(body)) = &operation.request_body {
                    for content in body.content.values() {
                        if let RefOr::T(content) = content
                            && let Some(schema) = &content.schema
                        {
                            referenced(schema, &mut read);
                        }
                    }
                }
                for answer in operation.responses.responses.values() {
                    if let RefOr::T(answer) = answer {
                        for content in answer.content.values() {
                            if let RefOr::T(content) = content
                                && let Some(schema) = &content.schema
                            {
                                referenced(schema, &mut written);
                            }
                        }
                    }
                }
            }
        }
        let read = reachable(read, components);
        let written = reachable(written, components);
        // A schema both read and written gets a copy for requests (`<Name>Input`), so that
        // what a request may hold does not loosen what an answer holds.
        let shared: BTreeSet<String> = read.intersection(&written).cloned().collect();
        for name in &shared {
            if let Some(schema) = components.schemas.get(name).cloned() {
                components.schemas.insert(format!("{name}Input"), schema);
            }
        }
        let read: BTreeSet<String> = read
            .into_iter()
            .map(|name| {
                if shared.contains(&name) {
                    format!("{name}Input")
                } else {
                    name
                }
            })
            .collect();
        for name in &read {
            if let Some(schema) = components.schemas.get_mut(name) {
                to_inputs(schema, &shared);
                held_to_text(schema);
            }
        }
        for (path, item) in &mut openapi.paths.paths {
            for operation in super::answers::operations_mut(item) {
                parameters(path, operation);
                if let Some(RefOr::T(body)) = &mut operation.request_body {
                    optional_unless_required(body, components);
                    forms(body, components);
                }
            }
        }
    }
}

fn add_shared(components: &mut Components) {
    let text = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(XML_TEXT))
    };
    components.schemas.insert(
        IGNORED.to_owned(),
        RefOr::T(Schema::AnyOf(
            AnyOfBuilder::new()
                .description(Some(
                    "A member Credence does not read: ignored, but held to the characters \
                     every text must keep to.",
                ))
                .item(text())
                .item(ObjectBuilder::new().schema_type(SchemaType::Array(vec![
                    Type::Number,
                    Type::Boolean,
                    Type::Null,
                ])))
                .item(Schema::Array(Array::new(Ref::from_schema_name(IGNORED))))
                .item(
                    ObjectBuilder::new()
                        .property_names(Some(text()))
                        .additional_properties(Some(Ref::from_schema_name(IGNORED))),
                )
                .build(),
        )),
    );
    components.schemas.insert(
        CUSTOMER_KEY.to_owned(),
        RefOr::T(Schema::AnyOf(
            AnyOfBuilder::new()
                .description(Some("A customer's number or its UUID."))
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
                )
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::Custom("uuid".to_owned()))),
                )
                .build(),
        )),
    );
}

/// The components `schema` names, directly.
fn referenced(schema: &RefOr<Schema>, names: &mut BTreeSet<String>) {
    match schema {
        RefOr::Ref(reference) => {
            if let Some(name) = reference.ref_location.rsplit('/').next() {
                names.insert(name.to_owned());
            }
        }
        RefOr::T(schema) => children(schema, &mut |child| referenced(child, names)),
    }
}

/// The components `names` reach, themselves included.
fn reachable(mut names: BTreeSet<String>, components: &Components) -> BTreeSet<String> {
    let mut todo: Vec<String> = names.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        let mut found = BTreeSet::new();
        if let Some(schema) = components.schemas.get(&name) {
            referenced(schema, &mut found);
        }
        for name in found {
            if names.insert(name.clone()) {
                todo.push(name);
            }
        }
    }
    names
}

/// Calls `visit` on every schema directly inside `schema`.
fn children(schema: &Schema, visit: &mut impl FnMut(&RefOr<Schema>)) {
    match schema {
        Schema::Object(object) => {
            object.properties.values().for_each(&mut *visit);
            if let Some(extra) = &object.additional_properties
                && let AdditionalProperties::RefOr(extra) = extra.as_ref()
            {
                visit(extra);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &array.items {
                visit(items);
            }
        }
        Schema::OneOf(one) => one.items.iter().for_each(visit),
        Schema::AllOf(all) => all.items.iter().for_each(visit),
        Schema::AnyOf(any) => any.items.iter().for_each(visit),
        _ => {}
    }
}

/// [`children`], mutably.
fn children_mut(schema: &mut Schema, visit: &mut impl FnMut(&mut RefOr<Schema>)) {
    match schema {
        Schema::Object(object) => {
            object.properties.values_mut().for_each(&mut *visit);
            if let Some(extra) = &mut object.additional_properties
                && let AdditionalProperties::RefOr(extra) = extra.as_mut()
            {
                visit(extra);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                visit(items);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(visit),
        Schema::AllOf(all) => all.items.iter_mut().for_each(visit),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(visit),
        _ => {}
    }
}

fn has_type(schema_type: &SchemaType, wanted: &Type) -> bool {
    match schema_type {
        SchemaType::Type(one) => one == wanted,
        SchemaType::Array(many) => many.contains(wanted),
        SchemaType::AnyValue => false,
    }
}

/// Points `schema`'s references to the `shared` schemas at their request copies.
fn to_inputs(schema: &mut RefOr<Schema>, shared: &BTreeSet<String>) {
    match schema {
        RefOr::Ref(reference) => {
            if let Some(name) = reference.ref_location.rsplit('/').next()
                && shared.contains(name)
            {
                reference.ref_location = format!("#/components/schemas/{name}Input");
            }
        }
        RefOr::T(schema) => children_mut(schema, &mut |child| to_inputs(child, shared)),
    }
}

/// Every text in `schema` held to [`XML_TEXT`]; every object's unknown members to
/// [`IGNORED`].
fn held_to_text(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else {
        return;
    };
    if let Schema::Object(object) = schema {
        text_rule(object);
    }
    children_mut(schema, &mut held_to_text);
}

fn text_rule(object: &mut Object) {
    let binary = matches!(
        object.format,
        Some(SchemaFormat::KnownFormat(KnownFormat::Binary))
    );
    let mut scalars = false;
    if let Some(pattern) = &mut object.pattern
        && let Some((_, rule, scalar)) = TEXT_RULES.iter().find(|(name, _, _)| name == pattern)
    {
        *pattern = (*rule).to_owned();
        scalars = *scalar;
    }
    let boolean = has_type(&object.schema_type, &Type::Boolean);
    if has_type(&object.schema_type, &Type::String)
        && !binary
        && object.pattern.is_none()
        && object.enum_values.is_none()
    {
        object.pattern = Some(XML_TEXT.to_owned());
        // Free text: a number or a boolean is read as its JSON text.
        scalars = object.format.is_none() && object.min_length.is_none();
    }
    if scalars {
        add_types(&mut object.schema_type, &[Type::Number, Type::Boolean]);
    }
    if boolean && object.enum_values.is_none() {
        // Booleans as forms write them (`input.rs`): `1`/`0`, `yes`/`no`, `on`/`off`.
        let mut values: Vec<serde_json::Value> =
            vec![true.into(), false.into(), 1.into(), 0.into()];
        values.extend(
            ["true", "false", "1", "0", "yes", "no", "on", "off"]
                .into_iter()
                .map(serde_json::Value::from),
        );
        let mut types = vec![Type::Boolean, Type::Integer, Type::String];
        if has_type(&object.schema_type, &Type::Null) {
            values.push(serde_json::Value::Null);
            types.push(Type::Null);
        }
        object.schema_type = SchemaType::Array(types);
        object.enum_values = Some(values);
    }
    if has_type(&object.schema_type, &Type::Object) {
        if object.property_names.is_none() {
            object.property_names = Some(Box::new(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(XML_TEXT))
                    .build(),
            )));
        }
        if object.additional_properties.is_none() {
            object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(
                Ref::from_schema_name(IGNORED).into(),
            )));
        }
    }
}

fn add_types(schema_type: &mut SchemaType, more: &[Type]) {
    let mut types = match schema_type {
        SchemaType::Type(one) => vec![one.clone()],
        SchemaType::Array(many) => many.clone(),
        SchemaType::AnyValue => return,
    };
    for extra in more {
        if !types.contains(extra) {
            types.push(extra.clone());
        }
    }
    *schema_type = SchemaType::Array(types);
}

/// A customer's `{id}` as [`CUSTOMER_KEY`]; every text parameter held to [`XML_TEXT`].
fn parameters(path: &str, operation: &mut Operation) {
    let Some(parameters) = &mut operation.parameters else {
        return;
    };
    for parameter in parameters.iter_mut() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        if parameter.parameter_in == ParameterIn::Path
            && parameter.name == "id"
            && path.starts_with("/api/v1.0/customers/{id}")
        {
            parameter.schema = Some(Ref::from_schema_name(CUSTOMER_KEY).into());
        } else if let Some(schema) = &mut parameter.schema {
            held_to_text(schema);
            // An optional query parameter left blank is one left out.
            if parameter.parameter_in == ParameterIn::Query
                && !matches!(parameter.required, Required::True)
            {
                *schema = RefOr::T(Schema::AnyOf(
                    AnyOfBuilder::new()
                        .item(schema.clone())
                        .item(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .pattern(Some("^[ \\t]*$"))
                                .description(Some("Blank: as if left out.")),
                        )
                        .build(),
                ));
            }
        }
    }
}

/// A body whose members are all optional may be left out: no body changes nothing.
fn optional_unless_required(body: &mut RequestBody, components: &Components) {
    let requires = body.content.values().any(|content| {
        let RefOr::T(content) = content else {
            return true;
        };
        match &content.schema {
            Some(RefOr::Ref(reference)) => reference
                .ref_location
                .rsplit('/')
                .next()
                .and_then(|name| components.schemas.get(name))
                .is_none_or(|schema| match schema {
                    RefOr::T(Schema::Object(object)) => !object.required.is_empty(),
                    _ => true,
                }),
            Some(RefOr::T(Schema::Object(object))) => !object.required.is_empty(),
            _ => true,
        }
    });
    body.required = Some(if requires {
        Required::True
    } else {
        Required::False
    });
}

/// A form's members as text: the body's schema without `null`, as `<Schema>Fields`, and its
/// structured members as JSON text.
fn forms(body: &mut RequestBody, components: &mut Components) {
    for (media_type, content) in &mut body.content {
        let (true, RefOr::T(content)) = (FORMS.contains(&media_type.as_str()), content) else {
            continue;
        };
        let Some(RefOr::Ref(reference)) = &content.schema else {
            continue;
        };
        let Some(name) = reference.ref_location.rsplit('/').next().map(str::to_owned) else {
            continue;
        };
        // A multipart part's name cannot hold what its header cannot carry.
        let (fields, names) = if media_type == FORMS[1] {
            (format!("{name}Parts"), PART_NAME)
        } else {
            (format!("{name}Fields"), XML_TEXT)
        };
        let structured = fields_of(&name, &fields, names, components);
        content.schema = Some(Ref::from_schema_name(fields).into());
        for member in structured {
            content.encoding.entry(member).or_insert_with(json_text);
        }
    }
}

fn json_text() -> Encoding {
    let mut encoding = Encoding::default();
    encoding.content_type = Some("application/json".to_owned());
    encoding
}

fn without_null(schema_type: &mut SchemaType) {
    if let SchemaType::Array(types) = schema_type {
        types.retain(|t| *t != Type::Null);
        if let [single] = types.as_slice() {
            *schema_type = SchemaType::Type(single.clone());
        }
    }
}

/// Makes the component `fields` from `name` once; returns its structured members.
fn fields_of(name: &str, fields: &str, names: &str, components: &mut Components) -> Vec<String> {
    let Some(RefOr::T(Schema::Object(object))) = components.schemas.get(name) else {
        return Vec::new();
    };
    let mut object = object.clone();
    let mut structured = Vec::new();
    for (member, schema) in &mut object.properties {
        let mut one_or_many = None;
        let schema_type = match schema {
            RefOr::T(Schema::Object(object)) => {
                if has_type(&object.schema_type, &Type::Object) {
                    structured.push(member.clone());
                }
                &mut object.schema_type
            }
            // A list of objects is JSON text; a list of scalars repeats the member, so one
            // value is a list of one.
            RefOr::T(Schema::Array(array)) => {
                match &array.items {
                    ArrayItems::RefOrSchema(items)
                        if matches!(
                            items.as_ref(),
                            RefOr::T(Schema::Object(item)) if !has_type(&item.schema_type, &Type::Object)
                        ) =>
                    {
                        one_or_many = Some(items.as_ref().clone());
                    }
                    _ => structured.push(member.clone()),
                }
                &mut array.schema_type
            }
            _ => {
                structured.push(member.clone());
                continue;
            }
        };
        without_null(schema_type);
        if let RefOr::T(Schema::Object(object)) = schema
            && let Some(values) = &mut object.enum_values
        {
            values.retain(|value| !value.is_null());
        }
        if let Some(item) = one_or_many {
            let many = schema.clone();
            *schema = RefOr::T(Schema::AnyOf(
                AnyOfBuilder::new().item(many).item(item).build(),
            ));
        }
    }
    object.property_names = Some(Box::new(Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(names))
            .build(),
    )));
    // An unknown member of a form is text like any other.
    object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(RefOr::T(
        Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(XML_TEXT))
                .build(),
        ),
    ))));
    let description = object.description.take().unwrap_or_default();
    object.description = Some(format!(
        "{description}\n\nAs a form or multipart body: text members (an empty value clears \
         an optional one), structured members as JSON text."
    ));
    components
        .schemas
        .entry(fields.to_owned())
        .or_insert(RefOr::T(Schema::Object(object)));
    structured
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn each_pattern(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(pattern)) = map.get("pattern") {
                    found.push(pattern.clone());
                }
                map.values().for_each(|v| each_pattern(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| each_pattern(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_named_text_rule_is_written_out() {
        let doc = serde_json::to_value(crate::openapi::openapi()).unwrap_or_default();
        let mut patterns = Vec::new();
        each_pattern(&doc, &mut patterns);
        assert!(!patterns.is_empty());
        for pattern in patterns {
            assert!(
                !super::TEXT_RULES
                    .iter()
                    .any(|(name, _, _)| pattern.contains(name)),
                "{pattern}"
            );
        }
    }

    #[test]
    fn forms_are_text_and_unknown_members_are_held_to_text() {
        let doc = serde_json::to_value(crate::openapi::openapi()).unwrap_or_default();
        let schemas = &doc["components"]["schemas"];
        let customer = &schemas["CustomerFormFields"]["properties"];
        assert_eq!(
            customer["city"]["type"],
            serde_json::json!(["string", "number", "boolean"])
        );
        assert!(
            customer["isActive"]["enum"]
                .as_array()
                .is_some_and(|v| !v.contains(&Value::Null))
        );
        assert!(
            schemas["CustomerForm"]["properties"]["isActive"]["enum"]
                .as_array()
                .is_some_and(|v| v.contains(&Value::Null))
        );
        assert_eq!(
            schemas["CustomerForm"]["additionalProperties"]["$ref"],
            "#/components/schemas/Ignored"
        );
        let body = &doc["paths"]["/api/v1.0/customers"]["post"]["requestBody"]["content"];
        assert_eq!(
            body["multipart/form-data"]["encoding"]["customerProjects"]["contentType"],
            "application/json"
        );
        assert_eq!(
            doc["paths"]["/api/v1.0/customers/{id}"]["get"]["parameters"][0]["schema"]["$ref"],
            "#/components/schemas/CustomerKey"
        );
    }

    #[test]
    fn answers_keep_their_own_schemas() {
        let doc = serde_json::to_value(crate::openapi::openapi()).unwrap_or_default();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["ProductAttributeDto"]["properties"]["is_mandatory"]["type"],
            "boolean"
        );
        assert!(
            schemas["ProductAttributeDtoInput"]["properties"]["is_mandatory"]["enum"].is_array()
        );
    }
}
