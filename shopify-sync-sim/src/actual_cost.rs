//! `actualQueryCost`: the cost of what a request returned, which is what Shopify keeps
//! from the bucket (the rest of the requested cost is refunded).
//!
//! The same shape as the requested cost, counted on the data instead of the arguments:
//! a connection costs 2 plus, for each node returned, 1 plus its selection's cost; any
//! other object costs 1 plus its selection's cost (a list of objects, each element);
//! scalars and enums cost 0; a mutation field costs 10 plus its payload's selection;
//! a null costs nothing. It never exceeds the requested cost (the caller caps it).
use apollo_compiler::executable::{Operation, OperationType, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde_json::Value;

/// The actual cost of `data` returned for `operation`.
pub fn actual_cost(
    schema: &Valid<Schema>,
    doc: &Valid<ExecutableDocument>,
    operation: &Operation,
    data: &Value,
) -> u32 {
    let mutation = operation.operation_type == OperationType::Mutation;
    let mut total = 0.0;
    for_each_field(doc, &operation.selection_set, &mut |field| {
        let value = data
            .get(field.response_key().as_str())
            .unwrap_or(&Value::Null);
        if mutation {
            if field.name.as_str() != "__typename" {
                total += 10.0 + selection_cost(schema, doc, &field.selection_set, value);
            }
        } else {
            total += field_cost(schema, doc, field, value);
        }
    });
    total.round() as u32
}

fn for_each_field<'d>(
    doc: &'d ExecutableDocument,
    set: &'d SelectionSet,
    f: &mut impl FnMut(&'d apollo_compiler::executable::Field),
) {
    for sel in &set.selections {
        match sel {
            Selection::Field(field) => f(field),
            Selection::InlineFragment(inline) => for_each_field(doc, &inline.selection_set, f),
            Selection::FragmentSpread(spread) => {
                if let Some(frag) = spread.fragment_def(doc) {
                    for_each_field(doc, &frag.selection_set, f);
                }
            }
        }
    }
}

fn selection_cost(
    schema: &Schema,
    doc: &ExecutableDocument,
    set: &SelectionSet,
    value: &Value,
) -> f64 {
    if !value.is_object() {
        return 0.0;
    }
    let mut total = 0.0;
    for_each_field(doc, set, &mut |field| {
        let v = value
            .get(field.response_key().as_str())
            .unwrap_or(&Value::Null);
        total += field_cost(schema, doc, field, v);
    });
    total
}

fn field_cost(
    schema: &Schema,
    doc: &ExecutableDocument,
    field: &apollo_compiler::executable::Field,
    value: &Value,
) -> f64 {
    if value.is_null() {
        return 0.0;
    }
    let type_name = field.definition.ty.inner_named_type();
    let is_leaf = matches!(
        schema.types.get(type_name),
        Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_))
    );
    if is_leaf {
        return 0.0;
    }
    if type_name.as_str().ends_with("Connection") {
        let mut total = 2.0;
        for_each_field(doc, &field.selection_set, &mut |sub| {
            let v = value
                .get(sub.response_key().as_str())
                .unwrap_or(&Value::Null);
            match sub.name.as_str() {
                "nodes" => {
                    for node in v.as_array().into_iter().flatten() {
                        total += 1.0 + selection_cost(schema, doc, &sub.selection_set, node);
                    }
                }
                "edges" => {
                    for edge in v.as_array().into_iter().flatten() {
                        for_each_field(doc, &sub.selection_set, &mut |e| {
                            if e.name.as_str() == "node" {
                                let node =
                                    edge.get(e.response_key().as_str()).unwrap_or(&Value::Null);
                                if !node.is_null() {
                                    total +=
                                        1.0 + selection_cost(schema, doc, &e.selection_set, node);
                                }
                            }
                        });
                    }
                }
                _ => {}
            }
        });
        return total;
    }
    match value {
        Value::Array(items) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| 1.0 + selection_cost(schema, doc, &field.selection_set, i))
            .sum(),
        _ => 1.0 + selection_cost(schema, doc, &field.selection_set, value),
    }
}
