//! Request validation that answers invalid requests exactly as Shopify does.
//!
//! Shopify's Admin API runs graphql-ruby (with its C parser), so a bad request comes
//! back as HTTP 200 with `{"errors": [...]}` and no `data`, each error carrying
//! graphql-ruby's message, `locations`, `path` and `extensions` (`code` plus the rule's
//! own keys). This module reproduces that pipeline, in graphql-ruby's order:
//!
//! 1. **Parse** with a lexer and recognizer that mirror the C parser's tokens and its
//!    bison messages (`syntax error, unexpected RCURLY ("}") at [1, 5]`, code
//!    `PARSE_ERROR`).
//! 2. **Select the operation** (`No operation named "X"`, `An operation name is required`).
//! 3. **Static validation**: graphql-ruby's rules, in its rule order and traversal order,
//!    with its paths (`["query Op", "field", "... on Type", "arg"]`), run over the
//!    `apollo_compiler` AST against the real schema. apollo-compiler's own validation
//!    then runs as a backstop; anything it alone finds is translated generically.
//! 4. **Variables**: graphql-ruby's input coercion plus the Shopify scalars whose errors
//!    are known (`ID` global ids, `URL`, `UnsignedInt64`, `Decimal`, `ARN`), answered
//!    with `INVALID_VARIABLE`, `value` and `problems`.
//!
//! Input lists longer than Shopify allows are refused after validation, once the cost is
//! known, so that response carries `extensions.cost`; [`check_input_sizes`] finds them
//! and leaves the cost to the server.
//!
//! Positions are counted as graphql-ruby's C lexer counts them: columns in bytes, and
//! `\r` and `\n` each start a line (so `\r\n` counts two).
//!
//! This module owns request validation only; it does not execute, cost or throttle.
//! Known gaps are listed on [`validate_request`].

use apollo_compiler::ast::{self, OperationType, Type};
use apollo_compiler::diagnostic::ToCliReport;
use apollo_compiler::executable;
use apollo_compiler::response::JsonMap;
use apollo_compiler::schema::{
    DirectiveDefinition, DirectiveLocation, ExtendedType, FieldDefinition, InputValueDefinition,
};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Node, Schema};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// Shopify's default maximum length of an input list.
pub const MAX_INPUT_ARRAY_SIZE: usize = 250;

/// Input fields whose lists Shopify allows to be longer than [`MAX_INPUT_ARRAY_SIZE`]
/// (input type, field, limit), as observed on the live API.
const INPUT_ARRAY_SIZE_OVERRIDES: &[(&str, &str, usize)] = &[
    ("ProductSetInput", "variants", 2048),
    ("DraftOrderInput", "lineItems", 499),
];

/// The file name given to request documents (it appears in no error Shopify returns).
const DOCUMENT_NAME: &str = "query.graphql";

/// A request that passed parsing, operation selection, validation and variable coercion.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    /// The validated document.
    pub document: Valid<ExecutableDocument>,
    /// The operation to execute.
    pub operation: Node<executable::Operation>,
    /// The selected operation's name (`None` for an anonymous operation).
    pub operation_name: Option<String>,
    /// The coerced variable values, defaults applied.
    pub variables: Valid<JsonMap>,
    positions: Positions,
}

impl ValidRequest {
    /// Line and column (1-based, as graphql-ruby counts them) of a node of `document`.
    fn line_column(&self, location: Option<apollo_compiler::parser::SourceSpan>) -> (usize, usize) {
        location.map_or((1, 1), |l| self.positions.at(l.offset()))
    }
}

/// Validates a GraphQL request as Shopify does.
///
/// `Err` holds the Shopify-shaped error objects to answer with (HTTP 200,
/// `{"errors": [...]}`, no `data`, no cost extension).
///
/// Known gaps: the `expecting ...` part of bison messages is reproduced only where the
/// parser state is unambiguous, and syntax errors inside type-system definitions lose
/// their token detail; `@oneOf` input objects are not checked (the schemas do not mark
/// them); custom scalars other than `ID`, `URL`, `UnsignedInt64`, `Decimal` and `ARN`
/// accept any value; the few documents graphql-ruby accepts but apollo-compiler refuses
/// (anonymous fragments, return-type conflicts, which graphql-ruby only logs) are answered
/// with apollo's message under the nearest graphql-ruby code. Fields of union type
/// without a selection are refused in graphql-ruby's words (graphql-ruby itself only
/// warns unless the schema opts in).
pub fn validate_request(
    schema: &Valid<Schema>,
    query: &str,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> Result<ValidRequest, Vec<Value>> {
    // 1. Parse.
    let tokens = lex(query);
    let positions = Positions::new(query, &tokens);
    let ast = parse_document(query, &tokens)?;

    // 2. Operation selection.
    let operations: Vec<&Node<ast::OperationDefinition>> = ast
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::OperationDefinition(op) => Some(op),
            _ => None,
        })
        .collect();
    let selected = if operations.is_empty() {
        None
    } else {
        match find_operation(&operations, operation_name) {
            Some(op) => Some(op),
            None => {
                let message = match operation_name {
                    None => "An operation name is required".to_string(),
                    Some(name) => format!("No operation named \"{name}\""),
                };
                return Err(vec![json!({ "message": message })]);
            }
        }
    };

    // 3. Static validation.
    let errors = StaticValidator::new(schema, &ast, &positions).run();
    if !errors.is_empty() {
        return Err(errors.into_iter().map(GqlError::into_json).collect());
    }
    let document = ExecutableDocument::parse_and_validate(schema, query, DOCUMENT_NAME)
        .map_err(|e| translate_diagnostics(&e.errors, &positions))?;
    let Some(selected) = selected else {
        return Err(vec![json!({ "message": "No operations in query" })]);
    };
    let selected_name = selected.name.as_ref().map(|n| n.to_string());
    let operation = match document.operations.get(selected_name.as_deref()) {
        Ok(op) => op.clone(),
        Err(_) => {
            return Err(vec![json!({ "message": "An operation name is required" })]);
        }
    };

    // 4. Variables.
    let errors = coerce_variables(schema, selected, variables, &positions);
    if !errors.is_empty() {
        return Err(errors);
    }
    let bytes_map: JsonMap = match serde_json_bytes_value(Value::Object(variables.clone())) {
        apollo_compiler::response::JsonValue::Object(map) => map,
        _ => JsonMap::new(),
    };
    let coerced = apollo_compiler::request::coerce_variable_values(schema, &operation, &bytes_map)
        .map_err(|e| {
            let mut err = json!({ "message": e.message().to_string() });
            if let Some(loc) = e.location() {
                let (line, column) = positions.at(loc.offset());
                err["locations"] = json!([{ "line": line, "column": column }]);
            }
            err["extensions"] = json!({ "code": "INVALID_VARIABLE" });
            vec![err]
        })?;
    Ok(ValidRequest {
        document,
        operation,
        operation_name: selected_name,
        variables: coerced,
        positions,
    })
}

/// Reads the `variables` member of a request body: absent, `null` or a blank string
/// mean no variables, a string holding a JSON object is accepted (as graphql-ruby's
/// Rails controllers do); anything else is refused with one error object (Shopify's own
/// answer to that is not captured; the message and code here are this simulator's).
pub fn variables_from_json(value: Option<&Value>) -> Result<Map<String, Value>, Vec<Value>> {
    let refuse = || {
        vec![json!({
            "message": "Variables must be a JSON object",
            "extensions": { "code": "INVALID_VARIABLES" }
        })]
    };
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Map::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(Value::Null) => Ok(Map::new()),
            _ => Err(refuse()),
        },
        Some(_) => Err(refuse()),
    }
}

/// Finds the input lists longer than Shopify allows in the arguments of the request's
/// operation (literal or from variables), as Shopify's `MAX_INPUT_SIZE_EXCEEDED` error
/// objects, in document order; empty when there are none. Shopify raises them after
/// validation, once the cost is known, so its response (no `data`) also carries
/// `extensions.cost`: adding that is the caller's job.
pub fn check_input_sizes(schema: &Valid<Schema>, request: &ValidRequest) -> Vec<Value> {
    let variables: Map<String, Value> = request
        .variables
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                serde_json::to_value(v).unwrap_or(Value::Null),
            )
        })
        .collect();
    let mut visited = HashSet::new();
    let mut errors = Vec::new();
    let checker = SizeChecker {
        schema,
        request,
        variables: &variables,
    };
    checker.selection_set(&request.operation.selection_set, &mut visited, &mut errors);
    errors
}

// ---------------------------------------------------------------------------------------
// Error objects
// ---------------------------------------------------------------------------------------

/// One graphql-ruby static validation error.
#[derive(Debug, Clone)]
struct GqlError {
    message: String,
    locations: Vec<(usize, usize)>,
    path: Vec<Value>,
    extensions: Map<String, Value>,
}

impl GqlError {
    fn into_json(self) -> Value {
        let mut obj = Map::new();
        obj.insert("message".into(), Value::String(self.message));
        obj.insert(
            "locations".into(),
            Value::Array(
                self.locations
                    .into_iter()
                    .map(|(line, column)| json!({ "line": line, "column": column }))
                    .collect(),
            ),
        );
        obj.insert("path".into(), Value::Array(self.path));
        obj.insert("extensions".into(), Value::Object(self.extensions));
        Value::Object(obj)
    }
}

fn ext(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

fn parse_error(message: String, location: Option<(usize, usize)>) -> Value {
    let locations: Vec<Value> = location
        .map(|(line, column)| json!({ "line": line, "column": column }))
        .into_iter()
        .collect();
    json!({ "message": message, "locations": locations, "extensions": { "code": "PARSE_ERROR" } })
}

// ---------------------------------------------------------------------------------------
// Positions (graphql-ruby's C lexer counts bytes, and both `\r` and `\n` as line breaks)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct Positions {
    token_starts: HashMap<usize, (usize, usize)>,
    breaks: Vec<usize>,
}

impl Positions {
    fn new(source: &str, tokens: &[Token]) -> Self {
        let breaks = source
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n' || *b == b'\r')
            .map(|(i, _)| i)
            .collect();
        let token_starts = tokens.iter().map(|t| (t.start, (t.line, t.col))).collect();
        Positions {
            token_starts,
            breaks,
        }
    }

    fn at(&self, offset: usize) -> (usize, usize) {
        if let Some(pos) = self.token_starts.get(&offset) {
            return *pos;
        }
        let before = self.breaks.partition_point(|&b| b < offset);
        let line_start = if before == 0 {
            0
        } else {
            self.breaks[before - 1] + 1
        };
        (before + 1, offset - line_start + 1)
    }

    fn of(&self, location: Option<apollo_compiler::parser::SourceSpan>) -> (usize, usize) {
        location.map_or((1, 1), |l| self.at(l.offset()))
    }
}

// ---------------------------------------------------------------------------------------
// Lexer: the token kinds of graphql-ruby's C lexer and bison grammar
// ---------------------------------------------------------------------------------------

/// Token kinds, in bison's symbol order (this order is the order of `expecting` lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Tk {
    Eof,
    Unknown,
    Amp,
    Bang,
    Colon,
    Directive,
    DirSign,
    Enum,
    Ellipsis,
    Equals,
    Extend,
    False,
    Float,
    Fragment,
    Identifier,
    Input,
    Implements,
    Int,
    Interface,
    LBracket,
    LCurly,
    LParen,
    Mutation,
    Null,
    On,
    Pipe,
    Query,
    RBracket,
    RCurly,
    Repeatable,
    RParen,
    Scalar,
    Schema,
    String,
    Subscription,
    True,
    Type,
    Union,
    VarSign,
    BadEscape,
}

impl Tk {
    fn bison_name(self) -> &'static str {
        match self {
            Tk::Eof => "end of file",
            Tk::Unknown | Tk::BadEscape => "invalid token",
            Tk::Amp => "AMP",
            Tk::Bang => "BANG",
            Tk::Colon => "COLON",
            Tk::Directive => "DIRECTIVE",
            Tk::DirSign => "DIR_SIGN",
            Tk::Enum => "ENUM",
            Tk::Ellipsis => "ELLIPSIS",
            Tk::Equals => "EQUALS",
            Tk::Extend => "EXTEND",
            Tk::False => "FALSE_LITERAL",
            Tk::Float => "FLOAT",
            Tk::Fragment => "FRAGMENT",
            Tk::Identifier => "IDENTIFIER",
            Tk::Input => "INPUT",
            Tk::Implements => "IMPLEMENTS",
            Tk::Int => "INT",
            Tk::Interface => "INTERFACE",
            Tk::LBracket => "LBRACKET",
            Tk::LCurly => "LCURLY",
            Tk::LParen => "LPAREN",
            Tk::Mutation => "MUTATION",
            Tk::Null => "NULL_LITERAL",
            Tk::On => "ON",
            Tk::Pipe => "PIPE",
            Tk::Query => "QUERY",
            Tk::RBracket => "RBRACKET",
            Tk::RCurly => "RCURLY",
            Tk::Repeatable => "REPEATABLE",
            Tk::RParen => "RPAREN",
            Tk::Scalar => "SCALAR",
            Tk::Schema => "SCHEMA",
            Tk::String => "STRING",
            Tk::Subscription => "SUBSCRIPTION",
            Tk::True => "TRUE_LITERAL",
            Tk::Type => "TYPE_LITERAL",
            Tk::Union => "UNION",
            Tk::VarSign => "VAR_SIGN",
        }
    }

    fn keyword(word: &str) -> Option<Tk> {
        Some(match word {
            "on" => Tk::On,
            "fragment" => Tk::Fragment,
            "true" => Tk::True,
            "false" => Tk::False,
            "null" => Tk::Null,
            "query" => Tk::Query,
            "mutation" => Tk::Mutation,
            "subscription" => Tk::Subscription,
            "schema" => Tk::Schema,
            "scalar" => Tk::Scalar,
            "type" => Tk::Type,
            "extend" => Tk::Extend,
            "implements" => Tk::Implements,
            "interface" => Tk::Interface,
            "union" => Tk::Union,
            "enum" => Tk::Enum,
            "input" => Tk::Input,
            "directive" => Tk::Directive,
            "repeatable" => Tk::Repeatable,
            _ => return None,
        })
    }

    fn is_schema_keyword(self) -> bool {
        matches!(
            self,
            Tk::Schema
                | Tk::Scalar
                | Tk::Type
                | Tk::Implements
                | Tk::Interface
                | Tk::Union
                | Tk::Enum
                | Tk::Input
                | Tk::Directive
                | Tk::Extend
                | Tk::Fragment
                | Tk::Repeatable
        )
    }

    fn is_name_without_on(self) -> bool {
        matches!(
            self,
            Tk::Identifier
                | Tk::True
                | Tk::False
                | Tk::Null
                | Tk::Query
                | Tk::Mutation
                | Tk::Subscription
        ) || self.is_schema_keyword()
    }

    fn is_name(self) -> bool {
        self == Tk::On || self.is_name_without_on()
    }

    fn starts_value(self) -> bool {
        matches!(
            self,
            Tk::Int | Tk::Float | Tk::String | Tk::LBracket | Tk::LCurly | Tk::VarSign
        ) || self.is_name()
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tk,
    start: usize,
    line: usize,
    col: usize,
    /// The token's text as graphql-ruby keeps it (string contents without quotes).
    text: String,
}

/// Tokenizes like graphql-ruby's C lexer (which never fails: unknown characters become
/// `invalid token`s for the parser to refuse).
fn lex(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let push = |tokens: &mut Vec<Token>, kind: Tk, text: String| {
            tokens.push(Token {
                kind,
                start,
                line,
                col,
                text,
            });
        };
        match b {
            b'\n' | b'\r' => {
                line += 1;
                col = 1;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b',' | 0 => {
                col += 1;
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                col += i - start;
                continue;
            }
            b'"' => {
                if let Some(end) = block_string_end(bytes, i) {
                    let content = &src[i + 3..end - 3];
                    push(&mut tokens, Tk::String, content.to_string());
                    let line_incr = content.matches('\n').count();
                    col += end - i;
                    line += line_incr;
                    i = end;
                    continue;
                }
                if let Some(end) = quoted_string_end(bytes, i) {
                    let raw = &src[i + 1..end - 1];
                    match unescape_string(raw) {
                        Some(text) => push(&mut tokens, Tk::String, text),
                        None => push(&mut tokens, Tk::BadEscape, raw.to_string()),
                    }
                    col += end - i;
                    i = end;
                    continue;
                }
                push(&mut tokens, Tk::Unknown, "\"".into());
                i += 1;
                col += 1;
                continue;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                push(&mut tokens, Tk::Ellipsis, "...".into());
                i += 3;
                col += 3;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                if let Some((end, is_float)) = number_end(bytes, i) {
                    let kind = if is_float { Tk::Float } else { Tk::Int };
                    push(&mut tokens, kind, src[i..end].to_string());
                    col += end - i;
                    i = end;
                    continue;
                }
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                let mut end = i + 1;
                while end < bytes.len()
                    && (bytes[end] == b'_' || bytes[end].is_ascii_alphanumeric())
                {
                    end += 1;
                }
                let word = &src[i..end];
                push(
                    &mut tokens,
                    Tk::keyword(word).unwrap_or(Tk::Identifier),
                    word.to_string(),
                );
                col += end - i;
                i = end;
                continue;
            }
            _ => {}
        }
        let single = match b {
            b'{' => Some(Tk::LCurly),
            b'}' => Some(Tk::RCurly),
            b'(' => Some(Tk::LParen),
            b')' => Some(Tk::RParen),
            b'[' => Some(Tk::LBracket),
            b']' => Some(Tk::RBracket),
            b':' => Some(Tk::Colon),
            b'$' => Some(Tk::VarSign),
            b'@' => Some(Tk::DirSign),
            b'=' => Some(Tk::Equals),
            b'!' => Some(Tk::Bang),
            b'|' => Some(Tk::Pipe),
            b'&' => Some(Tk::Amp),
            _ => None,
        };
        let width = match single {
            Some(_) => 1,
            None => src[i..].chars().next().map_or(1, char::len_utf8),
        };
        push(
            &mut tokens,
            single.unwrap_or(Tk::Unknown),
            src[i..i + width].to_string(),
        );
        i += width;
        col += width;
    }
    tokens
}

fn block_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    if !bytes[start..].starts_with(b"\"\"\"") {
        return None;
    }
    let mut i = start + 3;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return Some(i + 3);
        } else {
            i += 1;
        }
    }
    None
}

fn quoted_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(i + 1),
            b'\n' | b'\r' => return None,
            b'\\' => {
                let next = *bytes.get(i + 1)?;
                match next {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        if bytes.get(i + 2) == Some(&b'{') {
                            let mut j = i + 3;
                            while j < bytes.len() && bytes[j].is_ascii_alphanumeric() {
                                j += 1;
                            }
                            if j - (i + 3) < 4 || bytes.get(j) != Some(&b'}') {
                                return None;
                            }
                            i = j + 1;
                        } else {
                            let digits = bytes.get(i + 2..i + 6)?;
                            if !digits.iter().all(u8::is_ascii_alphanumeric) {
                                return None;
                            }
                            i += 6;
                        }
                    }
                    _ => return None,
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Decodes the escapes of a quoted string; `None` for a bad unicode escape.
fn unescape_string(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut pending_high: Option<u32> = None;
    while let Some(c) = chars.next() {
        if c != '\\' {
            if pending_high.is_some() {
                return None;
            }
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let simple = match e {
            '"' => Some('"'),
            '\\' => Some('\\'),
            '/' => Some('/'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            _ => None,
        };
        if let Some(s) = simple {
            if pending_high.is_some() {
                return None;
            }
            out.push(s);
            continue;
        }
        // `\u`
        let hex: String = if chars.peek() == Some(&'{') {
            chars.next();
            let mut h = String::new();
            for c in chars.by_ref() {
                if c == '}' {
                    break;
                }
                h.push(c);
            }
            h
        } else {
            chars.by_ref().take(4).collect()
        };
        let code = u32::from_str_radix(&hex, 16).ok()?;
        if let Some(high) = pending_high.take() {
            if !(0xDC00..=0xDFFF).contains(&code) {
                return None;
            }
            out.push(char::from_u32(
                0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00),
            )?);
        } else if (0xD800..=0xDBFF).contains(&code) {
            pending_high = Some(code);
        } else {
            out.push(char::from_u32(code)?);
        }
    }
    if pending_high.is_some() {
        return None;
    }
    Some(out)
}

/// Longest match of `INT = -?(0|[1-9][0-9]*)` or
/// `FLOAT = INT '.' [0-9]+ ([eE]? [+-]? [0-9]+)?`.
fn number_end(bytes: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut i = start;
    if bytes[i] == b'-' {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
        _ => return None,
    }
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        let mut j = i + 1;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        let mut k = j;
        if matches!(bytes.get(k), Some(b'e' | b'E')) {
            k += 1;
        }
        if matches!(bytes.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if bytes.get(k).is_some_and(u8::is_ascii_digit) {
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            return Some((k, true));
        }
        return Some((j, true));
    }
    Some((i, false))
}

// ---------------------------------------------------------------------------------------
// Syntax check: the executable part of graphql-ruby's bison grammar
// ---------------------------------------------------------------------------------------

/// Nesting deeper than this is refused as graphql-ruby refuses a parse that exhausts
/// bison's stack ("This query is too large to execute."); it also keeps the recursive
/// recognizer, apollo's parser (limit 500) and the validator far from stack overflow.
const MAX_NESTING: usize = 200;

enum SynFail {
    /// A syntax error at token index `at` (== tokens.len() at end of file); `expected`
    /// is the bison state's expected set when it is known to be small, else empty.
    Error { at: usize, expected: Vec<Tk> },
    /// A bad unicode escape was read.
    BadEscape(usize),
    /// The document holds type-system definitions; apollo's parser judges it.
    TypeSystem,
    /// Nested deeper than [`MAX_NESTING`].
    TooDeep,
}

struct Syntax<'t> {
    tokens: &'t [Token],
    i: usize,
    depth: usize,
}

type Syn = Result<(), SynFail>;

impl Syntax<'_> {
    fn peek(&self) -> Result<Tk, SynFail> {
        match self.tokens.get(self.i) {
            None => Ok(Tk::Eof),
            Some(t) if t.kind == Tk::BadEscape => Err(SynFail::BadEscape(self.i)),
            Some(t) => Ok(t.kind),
        }
    }

    fn fail(&self, expected: &[Tk]) -> SynFail {
        SynFail::Error {
            at: self.i,
            expected: expected.to_vec(),
        }
    }

    fn bump(&mut self) {
        self.i += 1;
    }

    fn enter(&mut self) -> Syn {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            Err(SynFail::TooDeep)
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn expect(&mut self, kind: Tk, expected: &[Tk]) -> Syn {
        if self.peek()? == kind {
            self.bump();
            Ok(())
        } else {
            Err(self.fail(expected))
        }
    }

    fn name(&mut self) -> Syn {
        if self.peek()?.is_name() {
            self.bump();
            Ok(())
        } else {
            Err(self.fail(&[]))
        }
    }

    fn document(&mut self) -> Syn {
        loop {
            match self.peek()? {
                Tk::Query | Tk::Mutation | Tk::Subscription => {
                    self.bump();
                    self.operation_rest()?;
                }
                Tk::LCurly => {
                    self.bump();
                    if self.peek()? == Tk::RCurly {
                        self.bump();
                    } else {
                        self.selection_set_body()?;
                    }
                }
                Tk::Fragment => {
                    self.bump();
                    self.fragment_rest()?;
                }
                Tk::Schema
                | Tk::Scalar
                | Tk::Type
                | Tk::Interface
                | Tk::Union
                | Tk::Enum
                | Tk::Input
                | Tk::Directive
                | Tk::Extend
                | Tk::String => return Err(SynFail::TypeSystem),
                Tk::Eof if self.i > 0 => return Ok(()),
                _ => return Err(self.fail(&[])),
            }
        }
    }

    fn operation_rest(&mut self) -> Syn {
        if self.peek()?.is_name() {
            self.bump();
        }
        if self.peek()? == Tk::LParen {
            self.variable_definitions()?;
        }
        self.directives()?;
        self.expect(Tk::LCurly, &[Tk::LCurly])?;
        self.selection_set_body()
    }

    fn fragment_rest(&mut self) -> Syn {
        if self.peek()?.is_name_without_on() {
            self.bump();
        }
        self.expect(Tk::On, &[Tk::On])?;
        self.name()?;
        self.directives()?;
        self.expect(Tk::LCurly, &[Tk::LCurly])?;
        self.selection_set_body()
    }

    fn variable_definitions(&mut self) -> Syn {
        self.bump(); // (
        if self.peek()? != Tk::VarSign {
            return Err(self.fail(&[Tk::VarSign]));
        }
        while self.peek()? == Tk::VarSign {
            self.bump();
            self.name()?;
            self.expect(Tk::Colon, &[Tk::Colon])?;
            self.type_ref()?;
            if self.peek()? == Tk::Equals {
                self.bump();
                self.value(true)?;
            }
            self.directives()?;
        }
        self.expect(Tk::RParen, &[Tk::RParen, Tk::VarSign])
    }

    fn type_ref(&mut self) -> Syn {
        match self.peek()? {
            Tk::LBracket => {
                self.bump();
                self.enter()?;
                self.type_ref()?;
                self.leave();
                self.expect(Tk::RBracket, &[Tk::RBracket])?;
            }
            t if t.is_name() => self.bump(),
            _ => return Err(self.fail(&[])),
        }
        if self.peek()? == Tk::Bang {
            self.bump();
        }
        Ok(())
    }

    fn directives(&mut self) -> Syn {
        while self.peek()? == Tk::DirSign {
            self.bump();
            self.name()?;
            if self.peek()? == Tk::LParen {
                self.arguments()?;
            }
        }
        Ok(())
    }

    fn arguments(&mut self) -> Syn {
        self.bump(); // (
        if !self.peek()?.is_name() {
            return Err(self.fail(&[]));
        }
        while self.peek()?.is_name() {
            self.bump();
            self.expect(Tk::Colon, &[Tk::Colon])?;
            self.value(false)?;
        }
        self.expect(Tk::RParen, &[])
    }

    /// `constant`: a default value (`literal_value`), where a variable may not start a
    /// value or an object field's value (list items are `input_value` either way).
    fn value(&mut self, constant: bool) -> Syn {
        self.enter()?;
        match self.peek()? {
            Tk::Int | Tk::Float | Tk::String => self.bump(),
            t if t.is_name() => self.bump(),
            Tk::VarSign if !constant => {
                self.bump();
                self.name()?;
            }
            Tk::LBracket => {
                self.bump();
                while self.peek()? != Tk::RBracket {
                    if !self.peek()?.starts_value() {
                        return Err(self.fail(&[]));
                    }
                    self.value(false)?;
                }
                self.bump();
            }
            Tk::LCurly => {
                self.bump();
                while self.peek()?.is_name() {
                    self.bump();
                    self.expect(Tk::Colon, &[Tk::Colon])?;
                    self.value(constant)?;
                }
                self.expect(Tk::RCurly, &[])?;
            }
            _ => return Err(self.fail(&[])),
        }
        self.leave();
        Ok(())
    }

    /// After `{`: one or more selections, then `}`.
    fn selection_set_body(&mut self) -> Syn {
        self.enter()?;
        let starts = |t: Tk| t.is_name() || t == Tk::Ellipsis;
        if !starts(self.peek()?) {
            return Err(self.fail(&[]));
        }
        while starts(self.peek()?) {
            self.selection()?;
        }
        self.expect(Tk::RCurly, &[])?;
        self.leave();
        Ok(())
    }

    fn selection(&mut self) -> Syn {
        if self.peek()? == Tk::Ellipsis {
            self.bump();
            let next = self.peek()?;
            if next == Tk::On {
                self.bump();
                self.name()?;
                self.directives()?;
                self.expect(Tk::LCurly, &[Tk::LCurly])?;
                return self.selection_set_body();
            }
            if next.is_name_without_on() {
                self.bump();
                return self.directives();
            }
            self.directives()?;
            self.expect(Tk::LCurly, &[Tk::LCurly])?;
            return self.selection_set_body();
        }
        self.bump(); // name or alias
        if self.peek()? == Tk::Colon {
            self.bump();
            self.name()?;
        }
        if self.peek()? == Tk::LParen {
            self.arguments()?;
        }
        self.directives()?;
        if self.peek()? == Tk::LCurly {
            self.bump();
            self.selection_set_body()?;
        }
        Ok(())
    }
}

/// Parses `query` into an AST, or answers with graphql-ruby's parse error.
fn parse_document(query: &str, tokens: &[Token]) -> Result<ast::Document, Vec<Value>> {
    let mut syntax = Syntax {
        tokens,
        i: 0,
        depth: 0,
    };
    let too_large = || {
        vec![parse_error(
            "This query is too large to execute.".into(),
            None,
        )]
    };
    let type_system = match syntax.document() {
        Ok(()) => false,
        Err(SynFail::TypeSystem) => true,
        Err(SynFail::TooDeep) => return Err(too_large()),
        Err(SynFail::Error { at, expected }) => {
            return Err(vec![bison_error(tokens, at, &expected)])
        }
        Err(SynFail::BadEscape(at)) => {
            let t = &tokens[at];
            return Err(vec![parse_error(
                format!(
                    "Parse error on bad Unicode escape sequence: {} (error) at [{}, {}]",
                    ruby_inspect(&t.text),
                    t.line,
                    t.col
                ),
                Some((t.line, t.col)),
            )]);
        }
    };
    let with_errors = match ast::Document::parse(query, DOCUMENT_NAME) {
        Ok(doc) => return Ok(doc),
        Err(with_errors) => with_errors,
    };
    if with_errors.errors.iter().any(|d| {
        d.error.unstable_error_name() == Some("RecursionLimitError")
            || d.error.to_string().contains("limit")
    }) {
        return Err(too_large());
    }
    if !type_system {
        // The recognizer follows graphql-ruby's grammar, which accepts a few documents
        // apollo's parser refuses (`{}`): keep apollo's partial document.
        return Ok(with_errors.partial);
    }
    let first_syntax_error = with_errors.errors.iter().find_map(|d| {
        let message = d.error.to_string();
        message
            .starts_with("syntax error")
            .then(|| d.error.location().map(|l| l.offset()))
            .flatten()
    });
    match first_syntax_error {
        Some(offset) => {
            let at = tokens
                .iter()
                .position(|t| t.start >= offset)
                .unwrap_or(tokens.len());
            Err(vec![bison_error(tokens, at, &[])])
        }
        // Only semantic build errors: graphql-ruby's parser accepts the document.
        None => Ok(with_errors.partial),
    }
}

/// graphql-ruby's `prepare_parse_error` applied to bison's detailed message.
fn bison_error(tokens: &[Token], at: usize, expected: &[Tk]) -> Value {
    let unexpected = tokens.get(at).map_or(Tk::Eof, |t| t.kind);
    let mut message = format!("syntax error, unexpected {}", unexpected.bison_name());
    if !expected.is_empty() && expected.len() <= 4 {
        let mut names: Vec<Tk> = expected.to_vec();
        names.sort();
        let names: Vec<&str> = names.iter().map(|t| t.bison_name()).collect();
        message.push_str(", expecting ");
        message.push_str(&names.join(" or "));
    }
    // The token graphql-ruby reports is the last one the parser read.
    let reported = tokens.get(at).or_else(|| tokens.last());
    let location = reported.map(|t| (t.line, t.col));
    if let Some((line, col)) = location {
        message.push_str(&format!(" at [{line}, {col}]"));
    }
    if !message.contains("end of file") {
        let name = unexpected.bison_name();
        if name.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
            if let Some(t) = reported {
                let needle = format!(", unexpected {name}");
                if let Some(pos) = message.find(&needle) {
                    let insert_at = pos + needle.len();
                    message.insert_str(insert_at, &format!(" ({})", ruby_inspect(&t.text)));
                }
            }
        }
    }
    parse_error(message, location)
}

/// Ruby's `String#inspect` for UTF-8 strings.
fn ruby_inspect(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            '\u{8}' => out.push_str("\\b"),
            '\u{7}' => out.push_str("\\a"),
            '\u{1b}' => out.push_str("\\e"),
            '#' if matches!(chars.peek(), Some('{' | '$' | '@')) => out.push_str("\\#"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn find_operation<'a>(
    operations: &[&'a Node<ast::OperationDefinition>],
    name: Option<&str>,
) -> Option<&'a Node<ast::OperationDefinition>> {
    if name.is_none() && operations.len() == 1 {
        return Some(operations[0]);
    }
    // graphql-ruby keys operations by name (anonymous ones by `nil`), the last one winning.
    operations
        .iter()
        .rev()
        .find(|op| op.name.as_deref() == name)
        .copied()
}

// ---------------------------------------------------------------------------------------
// Static validation: graphql-ruby's rules over the apollo AST
// ---------------------------------------------------------------------------------------

/// What a directive or an argument hangs on.
#[derive(Clone, Copy)]
enum DirParent {
    Operation(OperationType),
    Field,
    InlineFragment,
    FragmentSpread,
    FragmentDefinition,
    VariableDefinition,
}

#[derive(Clone, Copy)]
enum ArgParent<'a> {
    /// A field: its definition, its response key, its location.
    Field(Option<&'a FieldDefinition>, &'a str, (usize, usize)),
    /// A directive: its definition, name and location.
    Directive(Option<&'a DirectiveDefinition>, &'a str, (usize, usize)),
    /// An input object literal: the enclosing argument's definition and the `{` location.
    InputObject(Option<&'a InputValueDefinition>, (usize, usize)),
}

/// Identifies the operation or fragment being visited (index into the document).
type DefId = usize;

#[derive(Default, Clone)]
struct VarUsage {
    declared: bool,
    used_by: Option<DefId>,
    use_location: Option<(usize, usize)>,
    path: Vec<Value>,
}

/// A fragment spread checked once the whole document is known: the type it is spread
/// in, the fragment's name, its location and path.
type DeferredSpread<'a> = (&'a ExtendedType, String, (usize, usize), Vec<Value>);

/// Nodes grouped by name, in first-appearance order.
type NamedLocations<K> = Vec<(K, Vec<(usize, usize)>)>;

struct Spread {
    name: String,
    location: (usize, usize),
    path: Vec<Value>,
}

struct StaticValidator<'a> {
    schema: &'a Schema,
    doc: &'a ast::Document,
    pos: &'a Positions,
    errors: Vec<GqlError>,
    path: Vec<Value>,
    current_type: Option<&'a ExtendedType>,
    parent_type: Option<&'a ExtendedType>,
    implementers: Option<
        apollo_compiler::collections::HashMap<
            apollo_compiler::Name,
            apollo_compiler::schema::Implementers,
        >,
    >,
    // DirectivesAreDefined / UniqueDirectivesPerLocation aggregation
    undefined_directive_errors: HashMap<String, usize>,
    // OperationNamesAreValid
    operation_names: Vec<(Option<String>, (usize, usize))>,
    // FragmentNamesAreUnique
    fragment_names: Vec<(String, (usize, usize))>,
    // NoDefinitionsArePresent
    type_system_definitions: Vec<(usize, usize)>,
    // FragmentSpreadsArePossible (deferred spreads)
    deferred_spreads: Vec<DeferredSpread<'a>>,
    // VariablesAreUsedAndDefined
    var_contexts: Vec<(DefId, Vec<(String, VarUsage)>)>,
    var_context_stack: Vec<DefId>,
    spreads_by_context: HashMap<DefId, Vec<String>>,
    // VariableUsagesAreAllowed (graphql-ruby keeps the last operation's variables)
    declared_variables: HashMap<String, &'a Node<ast::VariableDefinition>>,
    // DefinitionDependencies
    current_definition: Option<DefId>,
    dependent_definitions: HashMap<String, Vec<DefId>>,
    immediate_dependencies: Vec<(DefId, Vec<Spread>)>,
    definition_paths: HashMap<DefId, Vec<Value>>,
}

fn named_type_of(ty: &Type) -> &str {
    ty.inner_named_type().as_str()
}

fn is_non_null(ty: &Type) -> bool {
    ty.is_non_null()
}

fn is_list(ty: &Type) -> bool {
    ty.is_list()
}

/// The type inside one wrapper (`T!` -> `T`, `[T]` -> `T`); `None` for a named type.
fn of_type(ty: &Type) -> Option<Type> {
    match ty {
        Type::Named(_) => None,
        Type::NonNullNamed(n) => Some(Type::Named(n.clone())),
        Type::List(inner) => Some((**inner).clone()),
        Type::NonNullList(inner) => Some(Type::List(inner.clone())),
    }
}

fn to_non_null(ty: Type) -> Type {
    match ty {
        Type::Named(n) => Type::NonNullNamed(n),
        Type::List(inner) => Type::NonNullList(inner),
        other => other,
    }
}

fn list_dimension(ty: &Type) -> usize {
    match ty {
        Type::Named(_) | Type::NonNullNamed(_) => 0,
        Type::List(inner) | Type::NonNullList(inner) => 1 + list_dimension(inner),
    }
}

fn non_null_levels_match(arg: &Type, var: &Type) -> bool {
    if is_non_null(arg) && !is_non_null(var) {
        return false;
    }
    let wraps = |t: &Type| !matches!(t, Type::Named(_));
    if wraps(arg) && wraps(var) {
        let var = if is_non_null(var) && !is_non_null(arg) {
            of_type(var)
        } else {
            Some(var.clone())
        };
        match (of_type(arg), var.as_ref().and_then(of_type)) {
            (Some(a), Some(v)) => non_null_levels_match(&a, &v),
            _ => true,
        }
    } else {
        true
    }
}

fn kind_is_leaf(ty: &ExtendedType) -> bool {
    matches!(ty, ExtendedType::Scalar(_) | ExtendedType::Enum(_))
}

fn kind_has_fields(ty: &ExtendedType) -> bool {
    matches!(ty, ExtendedType::Object(_) | ExtendedType::Interface(_))
}

fn kind_is_composite(ty: &ExtendedType) -> bool {
    matches!(
        ty,
        ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_)
    )
}

fn kind_is_input(ty: &ExtendedType) -> bool {
    matches!(
        ty,
        ExtendedType::Scalar(_) | ExtendedType::Enum(_) | ExtendedType::InputObject(_)
    )
}

fn input_fields(ty: &ExtendedType) -> Vec<&InputValueDefinition> {
    match ty {
        ExtendedType::InputObject(io) => io.fields.values().map(|f| &***f).collect(),
        _ => Vec::new(),
    }
}

fn input_field<'s>(ty: &'s ExtendedType, name: &str) -> Option<&'s InputValueDefinition> {
    match ty {
        ExtendedType::InputObject(io) => io.fields.get(name).map(|f| &***f),
        _ => None,
    }
}

fn field_argument<'s>(def: &'s FieldDefinition, name: &str) -> Option<&'s InputValueDefinition> {
    def.arguments.iter().find(|a| a.name == name).map(|a| &**a)
}

fn directive_argument<'s>(
    def: &'s DirectiveDefinition,
    name: &str,
) -> Option<&'s InputValueDefinition> {
    def.arguments.iter().find(|a| a.name == name).map(|a| &**a)
}

fn is_required(arg: &InputValueDefinition) -> bool {
    is_non_null(&arg.ty) && arg.default_value.is_none()
}

fn operation_path(op: &ast::OperationDefinition) -> String {
    match &op.name {
        Some(name) => format!("{} {}", op.operation_type, name),
        None => op.operation_type.to_string(),
    }
}

impl<'a> StaticValidator<'a> {
    fn new(schema: &'a Schema, doc: &'a ast::Document, pos: &'a Positions) -> Self {
        StaticValidator {
            schema,
            doc,
            pos,
            errors: Vec::new(),
            path: Vec::new(),
            current_type: None,
            parent_type: None,
            implementers: None,
            undefined_directive_errors: HashMap::new(),
            operation_names: Vec::new(),
            fragment_names: Vec::new(),
            type_system_definitions: Vec::new(),
            deferred_spreads: Vec::new(),
            var_contexts: Vec::new(),
            var_context_stack: Vec::new(),
            spreads_by_context: HashMap::new(),
            declared_variables: HashMap::new(),
            current_definition: None,
            dependent_definitions: HashMap::new(),
            immediate_dependencies: Vec::new(),
            definition_paths: HashMap::new(),
        }
    }

    fn loc<T>(&self, node: &Node<T>) -> (usize, usize) {
        self.pos.of(node.location())
    }

    fn add(
        &mut self,
        message: String,
        locations: Vec<(usize, usize)>,
        extensions: Map<String, Value>,
    ) {
        let path = self.path.clone();
        self.add_at(message, locations, path, extensions);
    }

    fn add_at(
        &mut self,
        message: String,
        locations: Vec<(usize, usize)>,
        path: Vec<Value>,
        extensions: Map<String, Value>,
    ) {
        self.errors.push(GqlError {
            message,
            locations,
            path,
            extensions,
        });
    }

    fn schema_type(&self, name: &str) -> Option<&'a ExtendedType> {
        self.schema.types.get(name)
    }

    fn unwrapped(&self, ty: &Type) -> Option<&'a ExtendedType> {
        self.schema_type(named_type_of(ty))
    }

    fn field_definition(&self, parent: &ExtendedType, name: &str) -> Option<&'a FieldDefinition> {
        self.schema
            .type_field(parent.name(), name)
            .ok()
            .map(|c| &***c)
    }

    fn possible_types(&mut self, ty: &'a ExtendedType) -> Vec<String> {
        match ty {
            ExtendedType::Object(_) => vec![ty.name().to_string()],
            ExtendedType::Union(u) => u.members.iter().map(|m| m.to_string()).collect(),
            ExtendedType::Interface(_) => {
                let schema = self.schema;
                let map = self
                    .implementers
                    .get_or_insert_with(|| schema.implementers_map());
                map.get(ty.name())
                    .map(|i| i.objects.iter().map(|o| o.to_string()).collect())
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    fn run(mut self) -> Vec<GqlError> {
        let doc = self.doc;
        for (id, definition) in doc.definitions.iter().enumerate() {
            match definition {
                ast::Definition::OperationDefinition(op) => self.operation(id, op),
                ast::Definition::FragmentDefinition(fragment) => {
                    self.fragment_definition(id, fragment)
                }
                other => {
                    let at = self.pos.of(other.location());
                    self.type_system_definitions.push(at);
                }
            }
        }
        self.variables_are_used_and_defined();
        self.fragment_spreads_are_possible_deferred();
        self.fragments_are_used_and_finite();
        self.fragment_names_are_unique();
        self.operation_names_are_valid();
        if !self.type_system_definitions.is_empty() {
            let locations = self.type_system_definitions.clone();
            self.add_at(
                "Query cannot contain schema definitions".into(),
                locations,
                Vec::new(),
                ext(&[("code", json!("queryContainsSchemaDefinitions"))]),
            );
        }
        self.errors
    }

    // -- definitions ---------------------------------------------------------------------

    fn operation(&mut self, id: DefId, op: &'a Node<ast::OperationDefinition>) {
        let root = self
            .schema
            .root_operation(op.operation_type)
            .and_then(|n| self.schema_type(n));
        let (saved_current, saved_parent) = (self.current_type, self.parent_type);
        self.parent_type = self.current_type;
        self.current_type = root;
        self.path.push(Value::String(operation_path(op)));
        let location = self.loc(op);

        self.unique_directives_per_location(&op.directives);
        self.operation_names
            .push((op.name.as_ref().map(|n| n.to_string()), location));
        self.fields_will_merge(&op.selection_set, self.current_type);
        if self.operation_has_selections(op, location) {
            self.variable_names_are_unique(op);
            // VariablesAreUsedAndDefined: declare.
            let declared = op
                .variables
                .iter()
                .map(|v| {
                    (
                        v.name.to_string(),
                        VarUsage {
                            declared: true,
                            path: self.path.clone(),
                            ..Default::default()
                        },
                    )
                })
                .collect();
            self.var_contexts.push((id, declared));
            self.var_context_stack.push(id);
            // VariableUsagesAreAllowed
            self.declared_variables = op
                .variables
                .iter()
                .map(|v| (v.name.to_string(), v))
                .collect();
            if self.root_exists(op, location) {
                self.current_definition = Some(id);
                self.definition_paths.insert(id, self.path.clone());
                for var in &op.variables {
                    self.variable_definition(var);
                }
                self.directives(&op.directives, DirParent::Operation(op.operation_type));
                self.selections(&op.selection_set, location);
                self.current_definition = None;
            }
            self.var_context_stack.pop();
        }

        self.path.pop();
        self.current_type = saved_current;
        self.parent_type = saved_parent;
    }

    fn root_exists(&mut self, op: &ast::OperationDefinition, location: (usize, usize)) -> bool {
        let (message, code) = match op.operation_type {
            OperationType::Mutation => (
                "Schema is not configured for mutations",
                "missingMutationConfiguration",
            ),
            OperationType::Query => (
                "Schema is not configured for queries",
                "missingQueryConfiguration",
            ),
            OperationType::Subscription => (
                "Schema is not configured for subscriptions",
                "missingSubscriptionConfiguration",
            ),
        };
        if self.schema.root_operation(op.operation_type).is_none() {
            self.add(
                message.into(),
                vec![location],
                ext(&[("code", json!(code))]),
            );
            return false;
        }
        if op.operation_type == OperationType::Subscription && op.selection_set.len() != 1 {
            self.add(
                "A subscription operation may only have one selection".into(),
                vec![location],
                ext(&[("code", json!("notSingleSubscription"))]),
            );
            return false;
        }
        true
    }

    fn fragment_definition(&mut self, id: DefId, fragment: &'a Node<ast::FragmentDefinition>) {
        let condition = fragment.type_condition.as_str();
        let (saved_current, saved_parent) = (self.current_type, self.parent_type);
        self.parent_type = self.current_type;
        self.current_type = self.schema_type(condition);
        self.path
            .push(Value::String(format!("fragment {}", fragment.name)));
        let location = self.loc(fragment);

        self.unique_directives_per_location(&fragment.directives);
        self.fragment_names
            .push((fragment.name.to_string(), location));
        if self.fragment_type_exists(condition, location)
            && self.fragment_is_on_composite_type(condition, location)
        {
            self.var_contexts.push((id, Vec::new()));
            self.var_context_stack.push(id);
            self.current_definition = Some(id);
            self.definition_paths.insert(id, self.path.clone());
            self.directives(&fragment.directives, DirParent::FragmentDefinition);
            self.selections(&fragment.selection_set, location);
            self.current_definition = None;
            self.var_context_stack.pop();
        }

        self.path.pop();
        self.current_type = saved_current;
        self.parent_type = saved_parent;
    }

    fn variable_definition(&mut self, var: &'a Node<ast::VariableDefinition>) {
        let location = self.loc(var);
        let type_name = named_type_of(&var.ty);
        match self.schema_type(type_name) {
            None => self.add(
                format!("{type_name} isn't a defined input type (on ${})", var.name),
                vec![location],
                ext(&[
                    ("code", json!("variableRequiresValidType")),
                    ("typeName", json!(type_name)),
                    ("variableName", json!(var.name.as_str())),
                ]),
            ),
            Some(ty) if !kind_is_input(ty) => self.add(
                format!("{} isn't a valid input type (on ${})", ty.name(), var.name),
                vec![location],
                ext(&[
                    ("code", json!("variableRequiresValidType")),
                    ("typeName", json!(type_name)),
                    ("variableName", json!(var.name.as_str())),
                ]),
            ),
            Some(_) => {}
        }
        if let Some(default) = &var.default_value {
            if self.schema_type(type_name).is_some() {
                if let Err(problem) = literal_validate(self.schema, default, Some(&var.ty)) {
                    let message = problem.and_then(|p| p.explanation).unwrap_or_else(|| {
                        format!(
                            "Default value for ${} doesn't match type {}",
                            var.name, var.ty
                        )
                    });
                    self.add(
                        message,
                        vec![location],
                        ext(&[
                            ("code", json!("defaultValueInvalidType")),
                            ("variableName", json!(var.name.as_str())),
                            ("typeName", json!(var.ty.to_string())),
                        ]),
                    );
                }
            }
        }
        self.directives(&var.directives, DirParent::VariableDefinition);
    }

    // -- selections ----------------------------------------------------------------------

    fn selections(&mut self, selections: &'a [ast::Selection], parent_location: (usize, usize)) {
        for selection in selections {
            match selection {
                ast::Selection::Field(field) => self.field(field, parent_location),
                ast::Selection::InlineFragment(inline) => self.inline_fragment(inline),
                ast::Selection::FragmentSpread(spread) => self.fragment_spread(spread),
            }
        }
    }

    fn field(&mut self, field: &'a Node<ast::Field>, parent_location: (usize, usize)) {
        let parent = self.current_type;
        let definition = parent.and_then(|p| self.field_definition(p, &field.name));
        let saved = (self.current_type, self.parent_type);
        self.parent_type = self.current_type;
        self.current_type = definition.and_then(|d| self.unwrapped(&d.ty));
        self.path.push(Value::String(
            field.alias.as_ref().unwrap_or(&field.name).to_string(),
        ));
        let location = self.loc(field);

        self.unique_directives_per_location(&field.directives);
        if let Some(parent) = parent {
            if definition.is_none() {
                if let ExtendedType::Union(_) = parent {
                    self.add(
                        format!(
                            "Selections can't be made directly on unions (see selections on {})",
                            parent.name()
                        ),
                        vec![parent_location],
                        ext(&[
                            ("code", json!("selectionMismatch")),
                            ("nodeName", json!(parent.name().as_str())),
                        ]),
                    );
                } else {
                    self.add(
                        format!(
                            "Field '{}' doesn't exist on type '{}'",
                            field.name,
                            parent.name()
                        ),
                        vec![location],
                        ext(&[
                            ("code", json!("undefinedField")),
                            ("typeName", json!(parent.name().as_str())),
                            ("fieldName", json!(field.name.as_str())),
                        ]),
                    );
                }
            } else {
                if !field.selection_set.is_empty() {
                    self.fields_will_merge(&field.selection_set, self.current_type);
                }
                if self.field_has_appropriate_selections(field, location) {
                    if let Some(def) = definition {
                        let required: Vec<&str> = def
                            .arguments
                            .iter()
                            .filter(|a| is_required(a))
                            .map(|a| a.name.as_str())
                            .collect();
                        self.required_arguments_present(
                            "Field",
                            &field.name,
                            &field.arguments,
                            &required,
                            location,
                        );
                    }
                    self.argument_names_are_unique(&field.arguments);
                    let key: &'a str = field.alias.as_ref().unwrap_or(&field.name).as_str();
                    for argument in &field.arguments {
                        self.argument(argument, ArgParent::Field(definition, key, location));
                    }
                    self.directives(&field.directives, DirParent::Field);
                    self.selections(&field.selection_set, location);
                }
            }
        }

        self.path.pop();
        (self.current_type, self.parent_type) = saved;
    }

    fn inline_fragment(&mut self, inline: &'a Node<ast::InlineFragment>) {
        let saved = (self.current_type, self.parent_type);
        let location = self.loc(inline);
        self.parent_type = self.current_type;
        match &inline.type_condition {
            Some(condition) => {
                self.current_type = self.schema_type(condition);
                self.path.push(Value::String(format!("... on {condition}")));
            }
            None => self.path.push(Value::String("...".into())),
        }

        self.unique_directives_per_location(&inline.directives);
        let proceed = match &inline.type_condition {
            Some(condition) => {
                self.fragment_type_exists(condition, location)
                    && self.fragment_is_on_composite_type(condition, location)
            }
            None => true,
        };
        if proceed {
            if let (Some(parent), Some(child)) = (self.parent_type, self.current_type) {
                let path = self.path.clone();
                self.validate_fragment_in_scope(parent, child, None, location, path);
            }
            self.directives(&inline.directives, DirParent::InlineFragment);
            self.selections(&inline.selection_set, location);
        }

        self.path.pop();
        (self.current_type, self.parent_type) = saved;
    }

    fn fragment_spread(&mut self, spread: &'a Node<ast::FragmentSpread>) {
        let location = self.loc(spread);
        let name = spread.fragment_name.to_string();
        self.path.push(Value::String(format!("... {name}")));
        self.unique_directives_per_location(&spread.directives);
        if let Some(parent) = self.current_type {
            self.deferred_spreads
                .push((parent, name.clone(), location, self.path.clone()));
        }
        if let Some(ctx) = self.var_context_stack.last() {
            self.spreads_by_context
                .entry(*ctx)
                .or_default()
                .push(name.clone());
        }
        if let Some(def) = self.current_definition {
            let users = self.dependent_definitions.entry(name.clone()).or_default();
            if !users.contains(&def) {
                users.push(def);
            }
            let spread_record = Spread {
                name,
                location,
                path: self.path.clone(),
            };
            match self
                .immediate_dependencies
                .iter_mut()
                .find(|(d, _)| *d == def)
            {
                Some((_, deps)) => deps.push(spread_record),
                None => self.immediate_dependencies.push((def, vec![spread_record])),
            }
        }
        self.directives(&spread.directives, DirParent::FragmentSpread);
        self.path.pop();
    }

    // -- rules ---------------------------------------------------------------------------

    fn fragment_type_exists(&mut self, condition: &str, location: (usize, usize)) -> bool {
        if self.schema_type(condition).is_some() {
            return true;
        }
        self.add(
            format!("No such type {condition}, so it can't be a fragment condition"),
            vec![location],
            ext(&[
                ("code", json!("undefinedType")),
                ("typeName", json!(condition)),
            ]),
        );
        false
    }

    fn fragment_is_on_composite_type(&mut self, condition: &str, location: (usize, usize)) -> bool {
        if self.schema_type(condition).is_some_and(kind_is_composite) {
            return true;
        }
        self.add(
            format!("Invalid fragment on type {condition} (must be Union, Interface or Object)"),
            vec![location],
            ext(&[
                ("code", json!("fragmentOnNonCompositeType")),
                ("typeName", json!(condition)),
            ]),
        );
        false
    }

    fn validate_fragment_in_scope(
        &mut self,
        parent: &'a ExtendedType,
        child: &'a ExtendedType,
        spread_name: Option<&str>,
        location: (usize, usize),
        path: Vec<Value>,
    ) {
        if !kind_has_fields(child) {
            return;
        }
        let parent_types = self.possible_types(parent);
        let child_types = self.possible_types(child);
        if child_types.iter().any(|c| parent_types.contains(c)) {
            return;
        }
        let name = spread_name.map(|n| format!(" {n}")).unwrap_or_default();
        self.add_at(
            format!(
                "Fragment{name} on {} can't be spread inside {}",
                child.name(),
                parent.name()
            ),
            vec![location],
            path,
            ext(&[
                ("code", json!("cannotSpreadFragment")),
                ("typeName", json!(child.name().as_str())),
                (
                    "fragmentName",
                    json!(if name.is_empty() {
                        "unknown".to_string()
                    } else {
                        name.clone()
                    }),
                ),
                ("parentName", json!(parent.name().as_str())),
            ]),
        );
    }

    fn operation_has_selections(
        &mut self,
        op: &ast::OperationDefinition,
        location: (usize, usize),
    ) -> bool {
        let Some(ty) = self.current_type else {
            return true;
        };
        if !op.selection_set.is_empty() || kind_is_leaf(ty) {
            return true;
        }
        let node_name = match &op.name {
            None => "anonymous query".to_string(),
            Some(name) => format!("{} '{}'", op.operation_type, name),
        };
        let name = op.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
        self.add(
            format!(
                "Field must have selections ({node_name} returns {} but has no selections. Did you mean '{name} {{ ... }}'?)",
                ty.name()
            ),
            vec![location],
            ext(&[
                ("code", json!("selectionMismatch")),
                ("nodeName", json!(node_name)),
                ("typeName", json!(ty.name().as_str())),
            ]),
        );
        false
    }

    fn field_has_appropriate_selections(
        &mut self,
        field: &ast::Field,
        location: (usize, usize),
    ) -> bool {
        let Some(ty) = self.current_type else {
            return true;
        };
        let node_name = format!("field '{}'", field.name);
        let message = if kind_is_leaf(ty) {
            if field.selection_set.is_empty() {
                return true;
            }
            let kind = if matches!(ty, ExtendedType::Enum(_)) {
                "enum"
            } else {
                "scalar"
            };
            let selections: Vec<String> = field
                .selection_set
                .iter()
                .map(|s| match s {
                    ast::Selection::Field(f) => format!("\"{}\"", f.name),
                    ast::Selection::FragmentSpread(s) => format!("\"{}\"", s.fragment_name),
                    ast::Selection::InlineFragment(i) => format!(
                        "\"... on {} {{ ... }}\"",
                        i.type_condition
                            .as_ref()
                            .map(|c| c.as_str())
                            .unwrap_or_default()
                    ),
                })
                .collect();
            format!(
                "Selections can't be made on {kind}s ({node_name} returns {} but has selections [{}])",
                ty.name(),
                selections.join(", ")
            )
        } else if field.selection_set.is_empty() {
            // Unions too: graphql-ruby only warns about them unless the schema opts in,
            // but apollo-compiler (which must accept the document) refuses them, so they
            // are answered in graphql-ruby's words rather than apollo's.
            format!(
                "Field must have selections ({node_name} returns {} but has no selections. Did you mean '{} {{ ... }}'?)",
                ty.name(),
                field.name
            )
        } else {
            return true;
        };
        self.add(
            message,
            vec![location],
            ext(&[
                ("code", json!("selectionMismatch")),
                ("nodeName", json!(node_name)),
                ("typeName", json!(ty.name().as_str())),
            ]),
        );
        false
    }

    fn required_arguments_present(
        &mut self,
        class_name: &str,
        name: &str,
        arguments: &[Node<ast::Argument>],
        required: &[&str],
        location: (usize, usize),
    ) {
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|r| !arguments.iter().any(|a| a.name == *r))
            .collect();
        if missing.is_empty() {
            return;
        }
        let list = missing.join(", ");
        self.add(
            format!("{class_name} '{name}' is missing required arguments: {list}"),
            vec![location],
            ext(&[
                ("code", json!("missingRequiredArguments")),
                ("className", json!(class_name)),
                ("name", json!(name)),
                ("arguments", json!(list)),
            ]),
        );
    }

    fn argument_names_are_unique(&mut self, arguments: &[Node<ast::Argument>]) {
        if arguments.len() < 2 {
            return;
        }
        let mut seen: Vec<(&str, Vec<(usize, usize)>)> = Vec::new();
        for a in arguments {
            let at = self.loc(a);
            match seen.iter_mut().find(|(n, _)| *n == a.name.as_str()) {
                Some((_, locs)) => locs.push(at),
                None => seen.push((a.name.as_str(), vec![at])),
            }
        }
        for (name, locations) in seen {
            if locations.len() > 1 {
                self.add(
                    format!("There can be only one argument named \"{name}\""),
                    locations,
                    ext(&[("code", json!("argumentNotUnique")), ("name", json!(name))]),
                );
            }
        }
    }

    fn variable_names_are_unique(&mut self, op: &ast::OperationDefinition) {
        let mut seen: Vec<(&str, Vec<(usize, usize)>)> = Vec::new();
        for v in &op.variables {
            let at = self.loc(v);
            match seen.iter_mut().find(|(n, _)| *n == v.name.as_str()) {
                Some((_, locs)) => locs.push(at),
                None => seen.push((v.name.as_str(), vec![at])),
            }
        }
        for (name, locations) in seen {
            if locations.len() > 1 {
                self.add(
                    format!("There can only be one variable named \"{name}\""),
                    locations,
                    ext(&[
                        ("code", json!("variableNotUnique")),
                        ("variableName", json!(name)),
                    ]),
                );
            }
        }
    }

    fn unique_directives_per_location(&mut self, directives: &ast::DirectiveList) {
        let mut used: Vec<(&str, usize)> = Vec::new();
        let mut reported: HashMap<usize, usize> = HashMap::new();
        for (i, d) in directives.iter().enumerate() {
            if let Some(&(_, first)) = used.iter().find(|(n, _)| *n == d.name.as_str()) {
                let at = self.loc(d);
                match reported.get(&first) {
                    Some(&err) => self.errors[err].locations.push(at),
                    None => {
                        let first_at = self.loc(&directives[first]);
                        self.add(
                            format!(
                                "The directive \"{}\" can only be used once at this location.",
                                d.name
                            ),
                            vec![first_at, at],
                            ext(&[
                                ("code", json!("directiveNotUniqueForLocation")),
                                ("directiveName", json!(d.name.as_str())),
                            ]),
                        );
                        reported.insert(first, self.errors.len() - 1);
                    }
                }
            } else if !self
                .schema
                .directive_definitions
                .get(&d.name)
                .is_some_and(|def| def.repeatable)
            {
                used.push((d.name.as_str(), i));
            }
        }
    }

    fn directives(&mut self, directives: &'a ast::DirectiveList, parent: DirParent) {
        for directive in directives.iter() {
            self.directive(directive, parent);
        }
    }

    fn directive(&mut self, directive: &'a Node<ast::Directive>, parent: DirParent) {
        let location = self.loc(directive);
        let Some(def) = self.schema.directive_definitions.get(&directive.name) else {
            // DirectivesAreDefined: one error per name, with every location.
            match self.undefined_directive_errors.get(directive.name.as_str()) {
                Some(&i) => self.errors[i].locations.push(location),
                None => {
                    self.add(
                        format!("Directive @{} is not defined", directive.name),
                        vec![location],
                        ext(&[
                            ("code", json!("undefinedDirective")),
                            ("directiveName", json!(directive.name.as_str())),
                        ]),
                    );
                    self.undefined_directive_errors
                        .insert(directive.name.to_string(), self.errors.len() - 1);
                }
            }
            return;
        };

        // DirectivesAreInValidLocations
        let required = match parent {
            DirParent::Operation(OperationType::Query) => DirectiveLocation::Query,
            DirParent::Operation(OperationType::Mutation) => DirectiveLocation::Mutation,
            DirParent::Operation(OperationType::Subscription) => DirectiveLocation::Subscription,
            DirParent::Field => DirectiveLocation::Field,
            DirParent::InlineFragment => DirectiveLocation::InlineFragment,
            DirParent::FragmentSpread => DirectiveLocation::FragmentSpread,
            DirParent::FragmentDefinition => DirectiveLocation::FragmentDefinition,
            DirParent::VariableDefinition => DirectiveLocation::VariableDefinition,
        };
        if !def.locations.contains(&required) {
            let allowed: Vec<&str> = def
                .locations
                .iter()
                .map(|l| location_message_name(*l))
                .collect();
            let target = location_message_name(required);
            self.add(
                format!(
                    "'@{}' can't be applied to {target} (allowed: {})",
                    def.name,
                    allowed.join(", ")
                ),
                vec![location],
                ext(&[
                    ("code", json!("directiveCannotBeApplied")),
                    ("targetName", json!(target)),
                    ("name", json!(def.name.as_str())),
                ]),
            );
        }
        let required_args: Vec<&str> = def
            .arguments
            .iter()
            .filter(|a| is_required(a))
            .map(|a| a.name.as_str())
            .collect();
        self.required_arguments_present(
            "Directive",
            &directive.name,
            &directive.arguments,
            &required_args,
            location,
        );
        self.argument_names_are_unique(&directive.arguments);
        for argument in &directive.arguments {
            self.argument(
                argument,
                ArgParent::Directive(Some(def), &directive.name, location),
            );
        }
    }

    /// Visits an argument of a field or directive.
    fn argument(&mut self, node: &'a Node<ast::Argument>, parent: ArgParent<'a>) {
        let location = self.loc(node);
        self.argument_like(&node.name, location, &node.value, parent);
    }

    fn argument_like(
        &mut self,
        name: &'a apollo_compiler::Name,
        location: (usize, usize),
        value: &'a Node<ast::Value>,
        parent: ArgParent<'a>,
    ) {
        // ContextMethods: the argument's definition.
        let (parent_type_def, definition, kind, owner_name, parent_location): (
            Option<&'a ExtendedType>,
            Option<&'a InputValueDefinition>,
            &str,
            String,
            (usize, usize),
        ) = match parent {
            ArgParent::Field(def, key, at) => (
                None,
                def.and_then(|d| field_argument(d, name)),
                "Field",
                key.to_string(),
                at,
            ),
            ArgParent::Directive(def, dname, at) => (
                None,
                def.and_then(|d| directive_argument(d, name)),
                "Directive",
                dname.to_string(),
                at,
            ),
            ArgParent::InputObject(enclosing, at) => {
                let ty = enclosing
                    .and_then(|e| self.unwrapped(&e.ty))
                    .filter(|t| matches!(t, ExtendedType::InputObject(_)));
                let def = ty.and_then(|t| input_field(t, name));
                (
                    ty,
                    def,
                    "InputObject",
                    ty.map(|t| t.name().to_string()).unwrap_or_default(),
                    at,
                )
            }
        };
        let parent_known = match parent {
            ArgParent::Field(def, ..) => def.is_some(),
            ArgParent::Directive(def, ..) => def.is_some(),
            ArgParent::InputObject(..) => parent_type_def.is_some(),
        };
        self.path.push(Value::String(name.to_string()));

        // ArgumentsAreDefined
        if parent_known && definition.is_none() {
            self.add(
                format!("{kind} '{owner_name}' doesn't accept argument '{name}'"),
                vec![location],
                ext(&[
                    ("code", json!("argumentNotAccepted")),
                    ("name", json!(owner_name)),
                    ("typeName", json!(kind)),
                    ("argumentName", json!(name.as_str())),
                ]),
            );
            self.path.pop();
            return;
        }

        // VariableUsagesAreAllowed (pre), then the children, then ArgumentLiteralsAreCompatible.
        if let Some(def) = definition {
            self.variable_usages_allowed(name, location, value, def);
        }
        self.argument_children(value, definition);

        if !matches!(value.as_ref(), ast::Value::Variable(_)) {
            let depth = self.path.len();
            let has_nested_error = self
                .errors
                .iter()
                .any(|e| e.path.len() >= depth && e.path[..depth] == self.path[..]);
            if let (false, Some(def)) = (has_nested_error, definition) {
                if let Err(problem) = literal_validate(self.schema, value, Some(&def.ty)) {
                    let coercion_message = problem.and_then(|p| p.message);
                    let (message, extensions) = match coercion_message {
                        Some(message) => (
                            message,
                            ext(&[("code", json!("argumentLiteralsIncompatible")), ("typeName", json!("CoercionError"))]),
                        ),
                        None => (
                            format!(
                                "Argument '{name}' on {kind} '{owner_name}' has an invalid value ({}). Expected type '{}'.",
                                print_value(value),
                                def.ty
                            ),
                            ext(&[
                                ("code", json!("argumentLiteralsIncompatible")),
                                ("typeName", json!(kind)),
                                ("argumentName", json!(name.as_str())),
                            ]),
                        ),
                    };
                    self.add(message, vec![parent_location], extensions);
                }
            }
        }
        self.path.pop();
    }

    /// `Argument#children`: the flattened AST nodes of the value.
    fn argument_children(
        &mut self,
        value: &'a Node<ast::Value>,
        definition: Option<&'a InputValueDefinition>,
    ) {
        let mut nodes: Vec<&'a Node<ast::Value>> = Vec::new();
        flatten_value_nodes(value, &mut nodes);
        for (index, &node) in nodes.iter().enumerate() {
            match node.as_ref() {
                ast::Value::Variable(var) => self.variable_used(var, self.loc(node)),
                ast::Value::Object(fields) => {
                    let in_list = definition.is_some_and(|d| is_list(&d.ty));
                    if in_list {
                        // graphql-ruby finds the index with `==`, i.e. the first equal node.
                        let first = nodes.iter().position(|n| ***n == **node).unwrap_or(index);
                        self.path.push(json!(first));
                    }
                    self.input_object(node, fields, definition);
                    if in_list {
                        self.path.pop();
                    }
                }
                _ => {}
            }
        }
    }

    fn input_object(
        &mut self,
        node: &'a Node<ast::Value>,
        fields: &'a [(apollo_compiler::Name, Node<ast::Value>)],
        enclosing: Option<&'a InputValueDefinition>,
    ) {
        let location = self.loc(node);
        // RequiredInputObjectAttributesArePresent
        if let Some(ty) = enclosing.and_then(|e| self.unwrapped(&e.ty)) {
            if let ExtendedType::InputObject(_) = ty {
                for required in input_fields(ty).into_iter().filter(|f| is_required(f)) {
                    if !fields.iter().any(|(n, _)| *n == required.name) {
                        let mut path = self.path.clone();
                        path.push(json!(required.name.as_str()));
                        self.add_at(
                            format!(
                                "Argument '{}' on InputObject '{}' is required. Expected type {}",
                                required.name,
                                ty.name(),
                                required.ty
                            ),
                            vec![location],
                            path,
                            ext(&[
                                ("code", json!("missingRequiredInputObjectAttribute")),
                                ("argumentName", json!(required.name.as_str())),
                                ("argumentType", json!(required.ty.to_string())),
                                ("inputObjectType", json!(ty.name().as_str())),
                            ]),
                        );
                    }
                }
            }
        }
        // InputObjectNamesAreUnique
        let mut seen: Vec<(&str, Vec<(usize, usize)>)> = Vec::new();
        for (name, _) in fields {
            let at = self.pos.of(name.location());
            match seen.iter_mut().find(|(n, _)| *n == name.as_str()) {
                Some((_, locs)) => locs.push(at),
                None => seen.push((name.as_str(), vec![at])),
            }
        }
        for (name, locations) in seen {
            if locations.len() > 1 {
                self.add(
                    format!("There can be only one input field named \"{name}\""),
                    locations,
                    ext(&[
                        ("code", json!("inputFieldNotUnique")),
                        ("name", json!(name)),
                    ]),
                );
            }
        }
        for (name, value) in fields {
            let at = self.pos.of(name.location());
            self.argument_like(name, at, value, ArgParent::InputObject(enclosing, location));
        }
    }

    fn variable_used(&mut self, name: &str, location: (usize, usize)) {
        let Some(&ctx) = self.var_context_stack.last() else {
            return;
        };
        let path = self.path.clone();
        let Some((_, usages)) = self.var_contexts.iter_mut().find(|(id, _)| *id == ctx) else {
            return;
        };
        let usage = match usages.iter_mut().find(|(n, _)| n == name) {
            Some((_, u)) => u,
            None => {
                usages.push((name.to_string(), VarUsage::default()));
                &mut usages.last_mut().expect("just pushed").1
            }
        };
        usage.used_by = Some(ctx);
        usage.use_location = Some(location);
        usage.path = path;
    }

    fn variable_usages_allowed(
        &mut self,
        arg_name: &str,
        location: (usize, usize),
        value: &'a Node<ast::Value>,
        definition: &'a InputValueDefinition,
    ) {
        let values: Vec<&Node<ast::Value>> = match value.as_ref() {
            ast::Value::List(items) => items.iter().collect(),
            _ => vec![value],
        };
        for v in values {
            let ast::Value::Variable(var_name) = v.as_ref() else {
                continue;
            };
            let Some(var) = self.declared_variables.get(var_name.as_str()).copied() else {
                continue;
            };
            if self.schema_type(named_type_of(&var.ty)).is_none() {
                continue;
            }
            let mut var_type = (*var.ty).clone();
            if var.default_value.is_some() && !is_non_null(&var_type) {
                var_type = to_non_null(var_type);
            }
            let mut arg_type = (*definition.ty).clone();
            if is_non_null(&arg_type) && definition.default_value.is_some() {
                arg_type = of_type(&arg_type).unwrap_or(arg_type);
            }
            let same_inner = named_type_of(&var_type) == named_type_of(&arg_type);
            for _ in 0..value_list_depth(value) {
                var_type = Type::NonNullList(Box::new(var_type));
            }
            let error = if !same_inner {
                Some("Type mismatch")
            } else if list_dimension(&var_type) != list_dimension(&arg_type) {
                Some("List dimension mismatch")
            } else if !non_null_levels_match(&arg_type, &var_type) {
                Some("Nullability mismatch")
            } else {
                None
            };
            if let Some(error) = error {
                self.add(
                    format!(
                        "{error} on variable ${} and argument {arg_name} ({} / {})",
                        var.name, var_type, definition.ty
                    ),
                    vec![location],
                    ext(&[
                        ("code", json!("variableMismatch")),
                        ("variableName", json!(var.name.as_str())),
                        ("typeName", json!(var_type.to_string())),
                        ("argumentName", json!(arg_name)),
                        ("errorMessage", json!(error)),
                    ]),
                );
            }
        }
    }
}

fn location_message_name(location: DirectiveLocation) -> &'static str {
    match location {
        DirectiveLocation::Query => "queries",
        DirectiveLocation::Mutation => "mutations",
        DirectiveLocation::Subscription => "subscriptions",
        DirectiveLocation::Field => "fields",
        DirectiveLocation::FragmentDefinition => "fragment definitions",
        DirectiveLocation::FragmentSpread => "fragment spreads",
        DirectiveLocation::InlineFragment => "inline fragments",
        DirectiveLocation::VariableDefinition => "variable definitions",
        _ => "",
    }
}

fn flatten_value_nodes<'v>(value: &'v Node<ast::Value>, out: &mut Vec<&'v Node<ast::Value>>) {
    match value.as_ref() {
        ast::Value::List(items) => {
            for item in items {
                flatten_value_nodes(item, out);
            }
        }
        ast::Value::Variable(_)
        | ast::Value::Object(_)
        | ast::Value::Enum(_)
        | ast::Value::Null => out.push(value),
        _ => {}
    }
}

fn value_list_depth(value: &ast::Value) -> usize {
    match value {
        ast::Value::List(items) => 1 + items.iter().map(|i| value_list_depth(i)).max().unwrap_or(0),
        _ => 0,
    }
}

// -- document-level rules and field merging ---------------------------------------------

/// A field collected for the field-merging rule.
#[derive(Clone)]
struct MergeField<'a> {
    node: &'a Node<ast::Field>,
    def: Option<&'a FieldDefinition>,
    parents: Vec<&'a ExtendedType>,
}

type FieldGroups<'a> = Vec<(String, Vec<MergeField<'a>>)>;

#[derive(Default)]
struct Conflict {
    nodes: Vec<(usize, usize)>,
    strings: Vec<String>,
}

#[derive(Default)]
struct Conflicts {
    /// (kind, [(response key, conflict)]) in first-insertion order.
    kinds: Vec<(&'static str, Vec<(String, Conflict)>)>,
}

impl Conflicts {
    fn entry(&mut self, kind: &'static str, key: &str) -> &mut Conflict {
        let k = match self.kinds.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                self.kinds.push((kind, Vec::new()));
                self.kinds.len() - 1
            }
        };
        let entries = &mut self.kinds[k].1;
        let i = match entries.iter().position(|(name, _)| name == key) {
            Some(i) => i,
            None => {
                entries.push((key.to_string(), Conflict::default()));
                entries.len() - 1
            }
        };
        &mut entries[i].1
    }
}

impl Conflict {
    fn add(&mut self, at: (usize, usize), description: String) {
        if !self.nodes.contains(&at) {
            self.nodes.push(at);
            self.strings.push(description);
        }
    }
}

impl<'a> StaticValidator<'a> {
    fn fragment_definition_named(&self, name: &str) -> Option<&'a Node<ast::FragmentDefinition>> {
        self.doc.definitions.iter().rev().find_map(|d| match d {
            ast::Definition::FragmentDefinition(f) if f.name == name => Some(f),
            _ => None,
        })
    }

    fn definition_name(&self, id: DefId) -> String {
        match &self.doc.definitions[id] {
            ast::Definition::OperationDefinition(op) => match &op.name {
                Some(name) => name.to_string(),
                None => format!("anonymous {}", op.operation_type),
            },
            ast::Definition::FragmentDefinition(f) => f.name.to_string(),
            _ => String::new(),
        }
    }

    fn is_fragment(&self, id: DefId) -> bool {
        matches!(
            self.doc.definitions[id],
            ast::Definition::FragmentDefinition(_)
        )
    }

    fn definition_location(&self, id: DefId) -> (usize, usize) {
        self.pos.of(self.doc.definitions[id].location())
    }

    // VariablesAreUsedAndDefined (at the end of the document)
    fn variables_are_used_and_defined(&mut self) {
        let contexts = self.var_contexts.clone();
        for (id, usages) in &contexts {
            if self.is_fragment(*id) {
                continue;
            }
            let mut vars = usages.clone();
            let mut visited = Vec::new();
            self.follow_spreads(*id, &mut vars, &contexts, &mut visited);
            let op_location = self.definition_location(*id);
            let op_name = self.definition_name(*id);
            for (name, usage) in &vars {
                if usage.declared && usage.used_by.is_none() {
                    self.add_at(
                        format!("Variable ${name} is declared by {op_name} but not used"),
                        vec![op_location],
                        usage.path.clone(),
                        ext(&[
                            ("code", json!("variableNotUsed")),
                            ("variableName", json!(name)),
                        ]),
                    );
                }
            }
            for (name, usage) in &vars {
                if let (Some(user), false) = (usage.used_by, usage.declared) {
                    self.add_at(
                        format!(
                            "Variable ${name} is used by {} but not declared",
                            self.definition_name(user)
                        ),
                        usage.use_location.into_iter().collect(),
                        usage.path.clone(),
                        ext(&[
                            ("code", json!("variableNotDefined")),
                            ("variableName", json!(name)),
                        ]),
                    );
                }
            }
        }
    }

    fn follow_spreads(
        &self,
        node: DefId,
        vars: &mut Vec<(String, VarUsage)>,
        contexts: &[(DefId, Vec<(String, VarUsage)>)],
        visited: &mut Vec<String>,
    ) {
        let spreads: Vec<String> = self
            .spreads_by_context
            .get(&node)
            .map(|s| s.iter().filter(|n| !visited.contains(n)).cloned().collect())
            .unwrap_or_default();
        for spread in spreads {
            let Some((fragment_id, child_vars)) = contexts
                .iter()
                .find(|(id, _)| self.is_fragment(*id) && self.definition_name(*id) == spread)
            else {
                continue;
            };
            visited.push(spread);
            for (name, child) in child_vars {
                let i = match vars.iter().position(|(n, _)| n == name) {
                    Some(i) => i,
                    None => {
                        vars.push((name.clone(), VarUsage::default()));
                        vars.len() - 1
                    }
                };
                if child.used_by.is_some() {
                    let parent = &mut vars[i].1;
                    parent.used_by = child.used_by;
                    parent.use_location = child.use_location;
                    parent.path = child.path.clone();
                }
            }
            self.follow_spreads(*fragment_id, vars, contexts, visited);
        }
    }

    // FragmentSpreadsArePossible (at the end of the document)
    fn fragment_spreads_are_possible_deferred(&mut self) {
        let spreads = std::mem::take(&mut self.deferred_spreads);
        for (parent, name, location, path) in spreads {
            let Some(fragment) = self.fragment_definition_named(&name) else {
                continue;
            };
            if let Some(child) = self.schema_type(&fragment.type_condition) {
                self.validate_fragment_in_scope(parent, child, Some(&name), location, path);
            }
        }
    }

    // FragmentsAreUsed and FragmentsAreFinite, from graphql-ruby's dependency resolution.
    fn fragments_are_used_and_finite(&mut self) {
        let mut by_name: Vec<(String, Vec<DefId>)> = Vec::new();
        for (id, d) in self.doc.definitions.iter().enumerate() {
            if let ast::Definition::FragmentDefinition(f) = d {
                match by_name.iter_mut().find(|(n, _)| *n == f.name.as_str()) {
                    Some((_, ids)) => ids.push(id),
                    None => by_name.push((f.name.to_string(), vec![id])),
                }
            }
        }
        let mut immediate = std::mem::take(&mut self.immediate_dependencies);
        let mut independent: Vec<DefId> = by_name
            .iter()
            .flat_map(|(_, ids)| ids.iter().copied())
            .filter(|id| !immediate.iter().any(|(d, _)| d == id))
            .collect();
        let mut visited_names: HashSet<String> = HashSet::new();
        let mut unused: Vec<DefId> = Vec::new();
        while let Some(fragment) = independent.pop() {
            let name = self.definition_name(fragment);
            if !visited_names.insert(name.clone()) {
                continue;
            }
            immediate.retain(|(d, _)| *d != fragment);
            let usages = self
                .dependent_definitions
                .get(&name)
                .cloned()
                .unwrap_or_default();
            if usages.is_empty() {
                unused.push(fragment);
                continue;
            }
            for user in usages {
                let i = match immediate.iter().position(|(d, _)| *d == user) {
                    Some(i) => i,
                    None => {
                        immediate.push((user, Vec::new()));
                        immediate.len() - 1
                    }
                };
                immediate[i].1.retain(|s| s.name != name);
                if immediate[i].1.is_empty()
                    && self.is_fragment(user)
                    && self.definition_name(user) != name
                {
                    independent.push(user);
                }
            }
        }
        let mut unmet: Vec<Spread> = Vec::new();
        for (_, deps) in immediate.iter_mut() {
            let (missing, kept): (Vec<Spread>, Vec<Spread>) = std::mem::take(deps)
                .into_iter()
                .partition(|s| !by_name.iter().any(|(n, _)| *n == s.name));
            unmet.extend(missing);
            *deps = kept;
        }
        immediate.retain(|(_, deps)| !deps.is_empty());

        for spread in unmet {
            self.add_at(
                format!("Fragment {} was used, but not defined", spread.name),
                vec![spread.location],
                spread.path,
                ext(&[
                    ("code", json!("useAndDefineFragment")),
                    ("fragmentName", json!(spread.name)),
                ]),
            );
        }
        for fragment in unused {
            let Some(path) = self.definition_paths.get(&fragment).cloned() else {
                continue;
            };
            let name = self.definition_name(fragment);
            self.add_at(
                format!("Fragment {name} was defined, but not used"),
                vec![self.definition_location(fragment)],
                path,
                ext(&[
                    ("code", json!("useAndDefineFragment")),
                    ("fragmentName", json!(name)),
                ]),
            );
        }
        for (def, _) in immediate {
            if !self.is_fragment(def) {
                continue;
            }
            let Some(path) = self.definition_paths.get(&def).cloned() else {
                continue;
            };
            let name = self.definition_name(def);
            self.add_at(
                format!("Fragment {name} contains an infinite loop"),
                vec![self.definition_location(def)],
                path,
                ext(&[
                    ("code", json!("infiniteLoop")),
                    ("fragmentName", json!(name)),
                ]),
            );
        }
    }

    fn fragment_names_are_unique(&mut self) {
        let mut groups: NamedLocations<String> = Vec::new();
        for (name, at) in &self.fragment_names {
            match groups.iter_mut().find(|(n, _)| n == name) {
                Some((_, locs)) => locs.push(*at),
                None => groups.push((name.clone(), vec![*at])),
            }
        }
        for (name, locations) in groups {
            if locations.len() > 1 {
                self.add_at(
                    format!("Fragment name \"{name}\" must be unique"),
                    locations,
                    Vec::new(),
                    ext(&[
                        ("code", json!("fragmentNotUnique")),
                        ("fragmentName", json!(name)),
                    ]),
                );
            }
        }
    }

    fn operation_names_are_valid(&mut self) {
        let count = self.operation_names.len();
        let mut groups: NamedLocations<Option<String>> = Vec::new();
        for (name, at) in &self.operation_names {
            match groups.iter_mut().find(|(n, _)| n == name) {
                Some((_, locs)) => locs.push(*at),
                None => groups.push((name.clone(), vec![*at])),
            }
        }
        for (name, locations) in groups {
            match name {
                None if count > 1 => self.add_at(
                    "Operation name is required when multiple operations are present".into(),
                    locations,
                    Vec::new(),
                    ext(&[("code", json!("uniquelyNamedOperations"))]),
                ),
                Some(name) if locations.len() > 1 => self.add_at(
                    format!("Operation name \"{name}\" must be unique"),
                    locations,
                    Vec::new(),
                    ext(&[
                        ("code", json!("uniquelyNamedOperations")),
                        ("operationName", json!(name)),
                    ]),
                ),
                _ => {}
            }
        }
    }

    // FieldsWillMerge
    fn fields_will_merge(
        &mut self,
        selections: &'a [ast::Selection],
        ty: Option<&'a ExtendedType>,
    ) {
        let Some(ty) = ty else { return };
        if selections.is_empty() {
            return;
        }
        let mut conflicts = Conflicts::default();
        let mut compared = HashSet::new();
        let groups = self.collect_fields(selections, ty, Vec::new());
        for (key, fields) in &groups {
            for i in 0..fields.len() {
                for j in i + 1..fields.len() {
                    self.find_conflict(
                        key,
                        &fields[i],
                        &fields[j],
                        false,
                        &mut conflicts,
                        &mut compared,
                    );
                }
            }
        }
        for (kind, entries) in conflicts.kinds {
            for (key, conflict) in entries {
                let article = if kind == "argument" { "an" } else { "a" };
                let list = conflict.strings.join(" or ");
                self.add_at(
                    format!("Field '{key}' has {article} {kind} conflict: {list}?"),
                    conflict.nodes,
                    Vec::new(),
                    ext(&[
                        ("code", json!("fieldConflict")),
                        ("fieldName", json!(key)),
                        ("conflicts", json!(list)),
                    ]),
                );
            }
        }
    }

    fn collect_fields(
        &mut self,
        selections: &'a [ast::Selection],
        owner: &'a ExtendedType,
        parents: Vec<&'a ExtendedType>,
    ) -> FieldGroups<'a> {
        let mut groups = Vec::new();
        let mut visited = HashSet::new();
        self.collect_fields_inner(selections, owner, &parents, &mut groups, &mut visited);
        groups
    }

    fn collect_fields_inner(
        &mut self,
        selections: &'a [ast::Selection],
        owner: &'a ExtendedType,
        parents: &[&'a ExtendedType],
        groups: &mut FieldGroups<'a>,
        visited: &mut HashSet<String>,
    ) {
        let mut deferred = Vec::new();
        for selection in selections {
            match selection {
                ast::Selection::Field(field) => {
                    let def = self.field_definition(owner, &field.name);
                    let key = field.alias.as_ref().unwrap_or(&field.name).to_string();
                    let entry = MergeField {
                        node: field,
                        def,
                        parents: parents.to_vec(),
                    };
                    match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, fields)) => fields.push(entry),
                        None => groups.push((key, vec![entry])),
                    }
                }
                ast::Selection::InlineFragment(inline) => {
                    let fragment_type = match &inline.type_condition {
                        Some(c) => self.schema_type(c),
                        None => Some(owner),
                    };
                    if let Some(t) = fragment_type {
                        let mut nested = parents.to_vec();
                        nested.push(t);
                        self.collect_fields_inner(
                            &inline.selection_set,
                            t,
                            &nested,
                            groups,
                            visited,
                        );
                    }
                }
                ast::Selection::FragmentSpread(spread) => deferred.push(spread),
            }
        }
        for spread in deferred {
            if !visited.insert(spread.fragment_name.to_string()) {
                continue;
            }
            let Some(fragment) = self.fragment_definition_named(&spread.fragment_name) else {
                continue;
            };
            let Some(t) = self.schema_type(&fragment.type_condition) else {
                continue;
            };
            let mut nested = parents.to_vec();
            nested.push(t);
            self.collect_fields_inner(&fragment.selection_set, t, &nested, groups, visited);
        }
    }

    fn find_conflict(
        &mut self,
        key: &str,
        f1: &MergeField<'a>,
        f2: &MergeField<'a>,
        mutually_exclusive: bool,
        conflicts: &mut Conflicts,
        compared: &mut HashSet<(usize, usize)>,
    ) {
        let (Some(def1), Some(def2)) = (f1.def, f2.def) else {
            return;
        };
        let exclusive = mutually_exclusive || self.mutually_exclusive(&f1.parents, &f2.parents);
        let (at1, at2) = (self.loc(f1.node), self.loc(f2.node));
        if !exclusive {
            if f1.node.name != f2.node.name {
                let c = conflicts.entry("field", key);
                c.add(at1, f1.node.name.to_string());
                c.add(at2, f2.node.name.to_string());
            }
            if !same_arguments(&f1.node.arguments, &f2.node.arguments) {
                let c = conflicts.entry("argument", key);
                c.add(at1, serialize_field_args(&f1.node.arguments));
                c.add(at2, serialize_field_args(&f2.node.arguments));
            }
        }
        // Sub-selections.
        if f1.node.selection_set.is_empty() && f2.node.selection_set.is_empty() {
            return;
        }
        let (p1, p2) = (
            std::ptr::from_ref::<ast::Field>(f1.node) as usize,
            std::ptr::from_ref::<ast::Field>(f2.node) as usize,
        );
        if p1 == p2 || !compared.insert((p1, p2)) {
            return;
        }
        let (Some(t1), Some(t2)) = (self.unwrapped(&def1.ty), self.unwrapped(&def2.ty)) else {
            return;
        };
        let g1 = self.collect_fields(&f1.node.selection_set, t1, vec![t1]);
        let g2 = self.collect_fields(&f2.node.selection_set, t2, vec![t2]);
        for (k, fields) in &g1 {
            let Some((_, others)) = g2.iter().find(|(k2, _)| k2 == k) else {
                continue;
            };
            for a in fields {
                for b in others {
                    self.find_conflict(k, a, b, exclusive, conflicts, compared);
                }
            }
        }
    }

    /// graphql-ruby's `mutually_exclusive?`, including its `i - 1` indexing.
    fn mutually_exclusive(&mut self, p1: &[&'a ExtendedType], p2: &[&'a ExtendedType]) -> bool {
        if p1.is_empty() || p2.is_empty() {
            return false;
        }
        if p1.len() != p2.len() {
            return true;
        }
        let len = p1.len();
        for i in 0..len {
            let (t1, t2) = (p1[(i + len - 1) % len], p2[(i + len - 1) % len]);
            if t1.name() != t2.name() {
                let a = self.possible_types(t1);
                let b = self.possible_types(t2);
                if !a.iter().any(|x| b.contains(x)) {
                    return true;
                }
            }
        }
        false
    }
}

fn same_arguments(a: &[Node<ast::Argument>], b: &[Node<ast::Argument>]) -> bool {
    a.len() == b.len()
        && a.iter().all(|x| {
            b.iter()
                .any(|y| y.name == x.name && print_value(&y.value) == print_value(&x.value))
        })
}

/// `GraphQL::Language.serialize(serialize_field_args(field))`.
fn serialize_field_args(arguments: &[Node<ast::Argument>]) -> String {
    let parts: Vec<String> = arguments
        .iter()
        .map(|a| format!("{}:{}", a.name, Value::String(print_value(&a.value))))
        .collect();
    format!("{{{}}}", parts.join(","))
}

// ---------------------------------------------------------------------------------------
// Literal values: graphql-ruby's LiteralValidator and Printer
// ---------------------------------------------------------------------------------------

/// The first problem graphql-ruby's literal validator reports.
struct LitProblem {
    explanation: Option<String>,
    /// Set when a scalar raised a `CoercionError` (it becomes the error's message).
    message: Option<String>,
}

fn literal_validate(
    schema: &Schema,
    value: &ast::Value,
    ty: Option<&Type>,
) -> Result<(), Option<LitProblem>> {
    let Some(ty) = ty else { return Err(None) };
    if matches!(value, ast::Value::Null) {
        return if is_non_null(ty) { Err(None) } else { Ok(()) };
    }
    if is_non_null(ty) {
        return literal_validate(schema, value, of_type(ty).as_ref());
    }
    if is_list(ty) {
        let inner = of_type(ty);
        return match value {
            ast::Value::List(items) => items
                .iter()
                .try_for_each(|item| literal_validate(schema, item, inner.as_ref())),
            other => literal_validate(schema, other, inner.as_ref()),
        };
    }
    if matches!(value, ast::Value::Variable(_)) {
        return Ok(());
    }
    match schema.types.get(named_type_of(ty)) {
        Some(ExtendedType::Scalar(scalar)) if is_constant(value) => {
            coerce_scalar(scalar.name.as_str(), &RubyValue::from_ast(value)).map_err(
                |(explanation, message)| {
                    Some(LitProblem {
                        explanation: Some(explanation),
                        message,
                    })
                },
            )
        }
        Some(ExtendedType::Enum(e)) => match value {
            ast::Value::Enum(name) if e.values.contains_key(name) => Ok(()),
            ast::Value::Enum(name) => Err(Some(LitProblem {
                explanation: Some(enum_problem(&Value::String(name.to_string()), e)),
                message: None,
            })),
            _ => Err(None),
        },
        Some(input @ ExtendedType::InputObject(_)) => {
            let ast::Value::Object(fields) = value else {
                return Err(None);
            };
            if input_fields(input)
                .iter()
                .any(|f| is_required(f) && !fields.iter().any(|(n, _)| *n == f.name))
            {
                return Err(None);
            }
            fields.iter().try_for_each(|(name, v)| {
                literal_validate(schema, v, input_field(input, name).map(|f| &*f.ty))
            })
        }
        _ => Err(None),
    }
}

fn is_constant(value: &ast::Value) -> bool {
    match value {
        ast::Value::Variable(_) => false,
        ast::Value::List(items) => items.iter().all(|i| is_constant(i)),
        ast::Value::Object(fields) => fields.iter().all(|(_, v)| is_constant(v)),
        _ => true,
    }
}

/// graphql-ruby's `Printer#print` of an argument value.
fn print_value(value: &ast::Value) -> String {
    match value {
        ast::Value::Null => "null".into(),
        ast::Value::Enum(name) => name.to_string(),
        ast::Value::Variable(name) => format!("${name}"),
        ast::Value::String(s) => Value::String(s.clone()).to_string(),
        ast::Value::Float(f) => ruby_float(f.try_to_f64().unwrap_or(f64::INFINITY)),
        ast::Value::Int(i) => ruby_integer(i.as_str()),
        ast::Value::Boolean(b) => b.to_string(),
        ast::Value::List(items) => {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| print_value(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        ast::Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(n, v)| format!("{n}: {}", print_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// An input value as graphql-ruby's scalars see it (literal or variable).
enum RubyValue {
    Str(String),
    /// An integer, as decimal digits.
    Int(String),
    Float(f64),
    Bool(bool),
    Null,
    /// Lists, objects and enum literals, kept in `GraphQL::Language.serialize` form.
    Other(String),
}

impl RubyValue {
    fn from_ast(value: &ast::Value) -> RubyValue {
        match value {
            ast::Value::String(s) => RubyValue::Str(s.clone()),
            ast::Value::Int(i) => RubyValue::Int(ruby_integer(i.as_str())),
            ast::Value::Float(f) => RubyValue::Float(f.try_to_f64().unwrap_or(f64::INFINITY)),
            ast::Value::Boolean(b) => RubyValue::Bool(*b),
            ast::Value::Null => RubyValue::Null,
            other => RubyValue::Other(serialize_ast(other)),
        }
    }

    fn from_json(value: &Value) -> RubyValue {
        match value {
            Value::String(s) => RubyValue::Str(s.clone()),
            Value::Number(n) if n.is_i64() || n.is_u64() => RubyValue::Int(n.to_string()),
            Value::Number(n) => RubyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => RubyValue::Bool(*b),
            Value::Null => RubyValue::Null,
            other => RubyValue::Other(serialize_json(other)),
        }
    }

    /// `GraphQL::Language.serialize(value)`.
    fn serialize(&self) -> String {
        match self {
            RubyValue::Str(s) => Value::String(s.clone()).to_string(),
            RubyValue::Int(i) => i.clone(),
            RubyValue::Float(f) => ruby_float(*f),
            RubyValue::Bool(b) => b.to_string(),
            RubyValue::Null => "null".into(),
            RubyValue::Other(s) => s.clone(),
        }
    }

    /// Ruby's `to_s`.
    fn to_ruby_s(&self) -> String {
        match self {
            RubyValue::Str(s) => s.clone(),
            RubyValue::Float(f) => ruby_float(*f),
            other => other.serialize(),
        }
    }
}

/// Input coercion of a scalar, graphql-ruby's built-ins plus the Shopify scalars whose
/// errors are known. `Err((explanation, coercion error message))`.
fn coerce_scalar(type_name: &str, value: &RubyValue) -> Result<(), (String, Option<String>)> {
    let could_not = || {
        Err((
            format!(
                "Could not coerce value {} to {type_name}",
                value.serialize()
            ),
            None,
        ))
    };
    let coercion_error = |message: String| Err((message.clone(), Some(message)));
    match type_name {
        "Int" => match value {
            RubyValue::Int(i) if i.parse::<i64>().is_ok_and(|v| i32::try_from(v).is_ok()) => Ok(()),
            _ => could_not(),
        },
        "Float" => match value {
            RubyValue::Int(_) | RubyValue::Float(_) => Ok(()),
            _ => could_not(),
        },
        "String" => match value {
            RubyValue::Str(_) => Ok(()),
            _ => could_not(),
        },
        "Boolean" => match value {
            RubyValue::Bool(_) => Ok(()),
            _ => could_not(),
        },
        "ID" => match value {
            RubyValue::Str(s) | RubyValue::Int(s) if is_global_id(s) => Ok(()),
            RubyValue::Str(s) | RubyValue::Int(s) => {
                coercion_error(format!("Invalid global id '{s}'"))
            }
            _ => could_not(),
        },
        "URL" => match value {
            RubyValue::Str(s) => match url_problem(s) {
                None => Ok(()),
                Some(problem) => coercion_error(format!("Invalid url '{s}', {problem}")),
            },
            _ => could_not(),
        },
        "Decimal" => match value {
            RubyValue::Int(_) | RubyValue::Float(_) => Ok(()),
            RubyValue::Str(s) if is_decimal(s) => Ok(()),
            other => coercion_error(format!("invalid decimal '{}'", other.to_ruby_s())),
        },
        "ARN" => match value {
            RubyValue::Str(s) if is_arn(s) => Ok(()),
            other => coercion_error(format!("Invalid ARN '{}'", other.to_ruby_s())),
        },
        "UnsignedInt64" => {
            let s = value.to_ruby_s();
            let digits = s.strip_prefix(['-', '+']).unwrap_or(&s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                let in_range = !s.starts_with('-') && digits.parse::<u64>().is_ok()
                    || s.starts_with('-') && digits.bytes().all(|b| b == b'0');
                if in_range {
                    Ok(())
                } else {
                    coercion_error(format!("UnsignedInt64 '{s}' is out of range"))
                }
            } else {
                coercion_error(format!("UnsignedInt64 invalid value '{s}'"))
            }
        }
        _ => Ok(()),
    }
}

/// A decimal number as Shopify's `Decimal` reads it (`-1`, `1.50`, `2e3`).
fn is_decimal(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    (!int.is_empty() || !frac.is_empty())
        && digits(int)
        && digits(frac)
        && exponent.is_none_or(|e| !e.is_empty() && digits(e))
}

/// An Amazon resource name, `arn:partition:service:region:account:resource`.
fn is_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && !parts[5].is_empty()
}

/// Shopify's `ID` accepts global ids: `gid://app/Model/id`.
fn is_global_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("gid://") else {
        return false;
    };
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let mut parts = rest.splitn(3, '/');
    let (app, model, id) = (parts.next(), parts.next(), parts.next());
    matches!((app, model, id), (Some(a), Some(m), Some(i)) if !a.is_empty() && !m.is_empty() && !i.is_empty())
}

/// Why Shopify's `URL` scalar refuses `s`, if it does.
fn url_problem(s: &str) -> Option<&'static str> {
    let scheme_end = s.find(':');
    let has_scheme = scheme_end.is_some_and(|end| {
        let scheme = &s[..end];
        scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !has_scheme {
        return Some("missing scheme");
    }
    let rest = &s[scheme_end.unwrap_or(0) + 1..];
    let Some(authority) = rest.strip_prefix("//") else {
        return Some("missing host");
    };
    let authority = authority.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    if host.is_empty() {
        Some("missing host")
    } else {
        None
    }
}

fn enum_problem(value: &Value, e: &apollo_compiler::schema::EnumType) -> String {
    let names: Vec<&str> = e.values.keys().map(|k| k.as_str()).collect();
    format!(
        "Expected {} to be one of: {}",
        RubyValue::from_json(value).serialize(),
        names.join(", ")
    )
}

/// `GraphQL::Language.serialize` of a JSON value (hashes as `{k:v}`, lists as `[a,b]`).
fn serialize_json(value: &Value) -> String {
    match value {
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k}:{}", serialize_json(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(serialize_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => RubyValue::from_json(other).serialize(),
    }
}

/// `GraphQL::Language.serialize` of a literal as graphql-ruby's scalars receive it.
fn serialize_ast(value: &ast::Value) -> String {
    match value {
        ast::Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{k}:{}", serialize_ast(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        ast::Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| serialize_ast(i))
                .collect::<Vec<_>>()
                .join(",")
        ),
        ast::Value::Enum(name) => name.to_string(),
        ast::Value::Variable(name) => format!("${name}"),
        other => RubyValue::from_ast(other).serialize(),
    }
}

/// Ruby's `Integer#to_s` of an integer literal.
fn ruby_integer(digits: &str) -> String {
    match digits.parse::<i128>() {
        Ok(v) => v.to_string(),
        Err(_) => digits.to_string(),
    }
}

/// Ruby's `Float#to_s`.
fn ruby_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = f.abs();
    if abs == 0.0 || (1e-4..1e16).contains(&abs) {
        let s = format!("{f}");
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    let s = format!("{f:e}");
    let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

// ---------------------------------------------------------------------------------------
// Variables: graphql-ruby's input validation, answered as Shopify's INVALID_VARIABLE
// ---------------------------------------------------------------------------------------

struct Problem {
    path: Vec<Value>,
    explanation: String,
    message: Option<String>,
}

impl Problem {
    fn new(explanation: String, message: Option<String>) -> Self {
        Problem {
            path: Vec::new(),
            explanation,
            message,
        }
    }

    fn prefixed(mut self, segment: Value) -> Self {
        self.path.insert(0, segment);
        self
    }

    fn into_json(self) -> Value {
        let mut obj = Map::new();
        obj.insert("path".into(), Value::Array(self.path));
        obj.insert("explanation".into(), Value::String(self.explanation));
        if let Some(message) = self.message {
            obj.insert("message".into(), Value::String(message));
        }
        Value::Object(obj)
    }
}

fn coerce_variables(
    schema: &Schema,
    operation: &ast::OperationDefinition,
    provided: &Map<String, Value>,
    positions: &Positions,
) -> Vec<Value> {
    let mut errors = Vec::new();
    for var in &operation.variables {
        if !schema
            .types
            .get(named_type_of(&var.ty))
            .is_some_and(kind_is_input)
        {
            continue;
        }
        let value = provided.get(var.name.as_str());
        let problems = validate_input(schema, &var.ty, value);
        if problems.is_empty() {
            continue;
        }
        let mut message = format!(
            "Variable ${} of type {} was provided invalid value",
            var.name, var.ty
        );
        let fields: Vec<String> = problems
            .iter()
            .filter(|p| !p.path.is_empty())
            .map(|p| {
                let path: Vec<String> = p
                    .path
                    .iter()
                    .map(|s| match s {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                format!("{} ({})", path.join("."), p.explanation)
            })
            .collect();
        if !fields.is_empty() {
            message.push_str(" for ");
            message.push_str(&fields.join(", "));
        }
        let (line, column) = positions.of(var.location());
        errors.push(json!({
            "message": message,
            "locations": [{ "line": line, "column": column }],
            "extensions": {
                "code": "INVALID_VARIABLE",
                "value": value.cloned().unwrap_or(Value::Null),
                "problems": problems.into_iter().map(Problem::into_json).collect::<Vec<_>>(),
            }
        }));
    }
    errors
}

fn validate_input(schema: &Schema, ty: &Type, value: Option<&Value>) -> Vec<Problem> {
    let value = value.filter(|v| !v.is_null());
    if is_non_null(ty) {
        return match value {
            None => vec![Problem::new("Expected value to not be null".into(), None)],
            Some(v) => of_type(ty)
                .map(|inner| validate_non_null(schema, &inner, v))
                .unwrap_or_default(),
        };
    }
    value
        .map(|v| validate_non_null(schema, ty, v))
        .unwrap_or_default()
}

fn validate_non_null(schema: &Schema, ty: &Type, value: &Value) -> Vec<Problem> {
    if is_list(ty) {
        let Some(inner) = of_type(ty) else {
            return Vec::new();
        };
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        return items
            .into_iter()
            .enumerate()
            .flat_map(|(i, item)| {
                validate_input(schema, &inner, Some(item))
                    .into_iter()
                    .map(move |p| p.prefixed(json!(i)))
            })
            .collect();
    }
    match schema.types.get(named_type_of(ty)) {
        Some(ExtendedType::Scalar(scalar)) => {
            match coerce_scalar(scalar.name.as_str(), &RubyValue::from_json(value)) {
                Ok(()) => Vec::new(),
                Err((explanation, message)) => vec![Problem::new(explanation, message)],
            }
        }
        Some(ExtendedType::Enum(e)) => match value {
            Value::String(s) if e.values.contains_key(s.as_str()) => Vec::new(),
            other => vec![Problem::new(enum_problem(other, e), None)],
        },
        Some(input @ ExtendedType::InputObject(_)) => {
            let Value::Object(map) = value else {
                let generated = serde_json::to_string(value).unwrap_or_default();
                return vec![Problem::new(
                    format!("Expected {generated} to be a key-value object."),
                    None,
                )];
            };
            let mut problems = Vec::new();
            for (key, v) in map {
                match input_field(input, key) {
                    None => problems.push(
                        Problem::new(format!("Field is not defined on {}", input.name()), None)
                            .prefixed(json!(key)),
                    ),
                    Some(def) => problems.extend(
                        validate_input(schema, &def.ty, Some(v))
                            .into_iter()
                            .map(|p| p.prefixed(json!(key))),
                    ),
                }
            }
            for def in input_fields(input) {
                if !map.contains_key(def.name.as_str()) && is_required(def) {
                    problems.extend(
                        validate_input(schema, &def.ty, None)
                            .into_iter()
                            .map(|p| p.prefixed(json!(def.name.as_str()))),
                    );
                }
            }
            problems
        }
        _ => Vec::new(),
    }
}

fn serde_json_bytes_value(value: Value) -> apollo_compiler::response::JsonValue {
    apollo_compiler::response::JsonValue::from(value)
}

// ---------------------------------------------------------------------------------------
// apollo-compiler diagnostics (the backstop), translated generically
// ---------------------------------------------------------------------------------------

fn translate_diagnostics(
    list: &apollo_compiler::validation::DiagnosticList,
    positions: &Positions,
) -> Vec<Value> {
    list.iter()
        .map(|d| {
            let code = match d.error.unstable_error_name() {
                Some("UndefinedField") => "undefinedField",
                Some("UndefinedArgument") => "argumentNotAccepted",
                Some("RequiredArgument") => "missingRequiredArguments",
                Some("UndefinedDirective") => "undefinedDirective",
                Some("UndefinedVariable") => "variableNotDefined",
                Some("UnusedVariable") => "variableNotUsed",
                Some("UndefinedFragment" | "UnusedFragment") => "useAndDefineFragment",
                Some(
                    "ConflictingFieldType" | "ConflictingFieldName" | "ConflictingFieldArgument",
                ) => "fieldConflict",
                Some(
                    "UndefinedDefinition"
                    | "UndefinedTypeInNamedFragmentTypeCondition"
                    | "UndefinedTypeInInlineFragmentTypeCondition",
                ) => "undefinedType",
                Some(
                    "SubselectionOnScalarType" | "SubselectionOnEnumType" | "MissingSubselection",
                ) => "selectionMismatch",
                Some("UniqueArgument") => "argumentNotUnique",
                Some("UniqueVariable") => "variableNotUnique",
                Some("UniqueDirective") => "directiveNotUniqueForLocation",
                Some("UnsupportedLocation") => "directiveCannotBeApplied",
                Some("DisallowedVariableUsage") => "variableMismatch",
                Some(
                    "UnsupportedValueType"
                    | "IntCoercionError"
                    | "FloatCoercionError"
                    | "UndefinedEnumValue"
                    | "UndefinedInputValue"
                    | "RequiredField",
                ) => "argumentLiteralsIncompatible",
                Some("InvalidFragmentSpread") => "cannotSpreadFragment",
                Some("InvalidFragmentTarget") => "fragmentOnNonCompositeType",
                Some("RecursiveFragmentDefinition") => "infiniteLoop",
                Some("OperationNameCollision" | "AmbiguousAnonymousOperation") => {
                    "uniquelyNamedOperations"
                }
                Some("FragmentNameCollision") => "fragmentNotUnique",
                Some("VariableInputType") => "variableRequiresValidType",
                _ => "validationError",
            };
            let locations: Vec<Value> = d
                .error
                .location()
                .map(|l| {
                    let (line, column) = positions.at(l.offset());
                    json!({ "line": line, "column": column })
                })
                .into_iter()
                .collect();
            json!({
                "message": d.error.to_string(),
                "locations": locations,
                "path": [],
                "extensions": { "code": code },
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Input list sizes (MAX_INPUT_SIZE_EXCEEDED)
// ---------------------------------------------------------------------------------------

struct SizeChecker<'a> {
    schema: &'a Schema,
    request: &'a ValidRequest,
    variables: &'a Map<String, Value>,
}

#[derive(Clone, Copy)]
enum Input<'v> {
    Ast(&'v ast::Value),
    Json(&'v Value),
}

impl<'a> SizeChecker<'a> {
    fn selection_set(
        &self,
        set: &'a executable::SelectionSet,
        visited: &mut HashSet<String>,
        errors: &mut Vec<Value>,
    ) {
        for selection in &set.selections {
            match selection {
                executable::Selection::Field(field) => {
                    let at = self.request.line_column(field.location());
                    for argument in &field.arguments {
                        let Some(def) = field
                            .definition
                            .arguments
                            .iter()
                            .find(|a| a.name == argument.name)
                        else {
                            continue;
                        };
                        let mut path = vec![
                            json!(field.response_key().as_str()),
                            json!(argument.name.as_str()),
                        ];
                        self.value(
                            Input::Ast(&argument.value),
                            &def.ty,
                            None,
                            &mut path,
                            at,
                            errors,
                        );
                    }
                    self.selection_set(&field.selection_set, visited, errors);
                }
                executable::Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.selection_set, visited, errors)
                }
                executable::Selection::FragmentSpread(spread) => {
                    if visited.insert(spread.fragment_name.to_string()) {
                        if let Some(fragment) =
                            self.request.document.fragments.get(&spread.fragment_name)
                        {
                            self.selection_set(&fragment.selection_set, visited, errors);
                        }
                    }
                }
            }
        }
    }

    fn resolve(&self, value: Input<'a>) -> Option<Input<'a>> {
        match value {
            Input::Ast(ast::Value::Variable(name)) => {
                self.variables.get(name.as_str()).map(Input::Json)
            }
            other => Some(other),
        }
    }

    /// `owner`: the input type and field holding this value (for per-field limits).
    fn value(
        &self,
        value: Input<'a>,
        ty: &Type,
        owner: Option<(&str, &str)>,
        path: &mut Vec<Value>,
        at: (usize, usize),
        errors: &mut Vec<Value>,
    ) {
        let Some(value) = self.resolve(value) else {
            return;
        };
        if is_list(ty) {
            let Some(inner) = of_type(ty) else { return };
            let items: Vec<Input<'a>> = match value {
                Input::Ast(ast::Value::List(items)) => {
                    items.iter().map(|i| Input::Ast(i)).collect()
                }
                Input::Json(Value::Array(items)) => items.iter().map(Input::Json).collect(),
                Input::Ast(ast::Value::Null) | Input::Json(Value::Null) => Vec::new(),
                other => vec![other],
            };
            let limit = owner
                .and_then(|(t, f)| {
                    INPUT_ARRAY_SIZE_OVERRIDES
                        .iter()
                        .find(|(ot, of, _)| *ot == t && *of == f)
                        .map(|(_, _, l)| *l)
                })
                .unwrap_or(MAX_INPUT_ARRAY_SIZE);
            if items.len() > limit {
                errors.push(json!({
                    "message": format!(
                        "The input array size of {} is greater than the maximum allowed of {limit}.",
                        items.len()
                    ),
                    "locations": [{ "line": at.0, "column": at.1 }],
                    "path": path.clone(),
                    "extensions": { "code": "MAX_INPUT_SIZE_EXCEEDED" },
                }));
                return;
            }
            for item in items {
                self.value(item, &inner, owner, path, at, errors);
            }
            return;
        }
        let Some(input) = self.schema.types.get(named_type_of(ty)) else {
            return;
        };
        if !matches!(input, ExtendedType::InputObject(_)) {
            return;
        }
        let fields: Vec<(&str, Input<'a>)> = match value {
            Input::Ast(ast::Value::Object(fields)) => fields
                .iter()
                .map(|(n, v)| (n.as_str(), Input::Ast(v)))
                .collect(),
            Input::Json(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (k.as_str(), Input::Json(v)))
                .collect(),
            _ => return,
        };
        for (name, field_value) in fields {
            let Some(def) = input_field(input, name) else {
                continue;
            };
            path.push(json!(name));
            self.value(
                field_value,
                &def.ty,
                Some((input.name().as_str(), name)),
                path,
                at,
                errors,
            );
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    //! The captured Shopify answers to invalid requests in `data/shopify/captures` are
    //! replayed against the 2025-10 schema (the captures were taken on 2025-01; 2025-10
    //! is the oldest schema shipped and agrees on every type these requests touch, except
    //! `ProductStatus`, which gained `UNLISTED` in 2025-10).
    //!
    //! Some captures keep only the variables of a request, not its document. For those,
    //! the test supplies a reconstructed document (same root field, same variable types)
    //! and compares everything except `locations`, which depend on the original text.
    use super::*;
    use shopify_sync::schema::{admin_schema, SchemaVersion};

    fn schema() -> &'static Valid<Schema> {
        admin_schema(SchemaVersion::V2025_10)
    }

    fn errors_of(query: &str, operation_name: Option<&str>, variables: Value) -> Vec<Value> {
        let variables = variables.as_object().cloned().unwrap_or_default();
        match validate_request(schema(), query, operation_name, &variables) {
            Ok(_) => panic!("expected errors for {query}"),
            Err(errors) => errors,
        }
    }

    const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/shopify/captures");

    /// Reconstructed documents for captures that keep only variables (see module doc).
    fn reconstructed(key: &str) -> Option<String> {
        let deactivate = |name: &str| {
            format!(
                "#graphql\n  mutation {name}($locationId: ID!, $idempotencyKey: String!) {{\n    \
                 locationDeactivate(locationId: $locationId) @idempotent(key: $idempotencyKey) {{\n      \
                 location {{ id }}\n    }}\n  }}\n"
            )
        };
        let doc = match key {
            "collection-create-and-add-products-parity.json#/invalidSort" => {
                "mutation C($input: CollectionInput!) { collectionCreate(input: $input) { collection { id } } }"
            }
            "inventory-item-update-validation.json#/captures/invalidWeightUnit" => {
                "mutation U($id: ID!, $input: InventoryItemInput!) { inventoryItemUpdate(id: $id, input: $input) { inventoryItem { id } } }"
            }
            "metafields-delete-parity.json#/edgeCases/missingKey" => {
                "mutation D($metafields: [MetafieldIdentifierInput!]!) { metafieldsDelete(metafields: $metafields) { deletedMetafields { key } } }"
            }
            "metafields-set-missing-key-parity.json#/mutation"
            | "metafields-set-missing-owner-parity.json#/mutation"
            | "metafields-set-missing-value-parity.json#/mutation" => {
                "mutation S($metafields: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $metafields) { metafields { id } } }"
            }
            "product-media-validation-branches.json#/scenarios/0"
            | "product-media-validation-branches.json#/scenarios/4" => {
                "mutation M($productId: ID!, $media: [CreateMediaInput!]!) { productCreateMedia(productId: $productId, media: $media) { media { alt } } }"
            }
            "product-variants-bulk-validation-atomicity.json#/cases/18" => {
                "mutation V($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $productId, variants: $variants) { productVariants { id } } }"
            }
            "productPublish-input-validation.json#/cases/missingProductPublications" => {
                "mutation P($input: ProductPublishInput!) { productPublish(input: $input) { userErrors { message } } }"
            }
            "product-set-shape-validator-parity.json#/variantLimit"
            | "product-set-shape-validator-parity.json#/inventoryQuantitiesLimit" => {
                "#graphql\n  mutation ProductSetShape($input: ProductSetInput!, $synchronous: Boolean!) {\n    \
                 productSet(input: $input, synchronous: $synchronous) {\n      product { id }\n    }\n  }\n"
            }
            "inventory-path-product-sibling-read.json#/cleanup/locationCleanup/deactivate" => {
                return Some(deactivate("InventoryPathProductSiblingLocationDeactivate"))
            }
            "inventory-transfer-lifecycle-local-staging.json#/cleanup/locationCleanup/origin/deactivate"
            | "inventory-transfer-lifecycle-local-staging.json#/cleanup/locationCleanup/destination/deactivate"
            | "inventory-transfer-zero-origin-read.json#/cleanup/locationCleanup/origin/deactivate"
            | "inventory-transfer-zero-origin-read.json#/cleanup/locationCleanup/destination/deactivate" => {
                return Some(deactivate("InventoryTransferConformanceLocationDeactivate"))
            }
            _ => return None,
        };
        Some(doc.to_string())
    }

    struct Case {
        key: String,
        query: Option<String>,
        operation_name: Option<String>,
        variables: Value,
        payload: Value,
    }

    /// Every captured error response without `data`, with the request that produced it.
    fn captured_cases() -> Vec<Case> {
        fn walk(
            node: &Value,
            pointer: &str,
            owner: Option<(&str, &Value)>,
            file: &str,
            out: &mut Vec<Case>,
        ) {
            match node {
                Value::Object(map) => {
                    let is_error_payload = map
                        .get("errors")
                        .and_then(Value::as_array)
                        .is_some_and(|e| e.first().and_then(|x| x.get("message")).is_some())
                        && !map.contains_key("data");
                    if is_error_payload {
                        let (owner_pointer, owner_value) = owner.unwrap_or((pointer, node));
                        let request = owner_value.get("request").unwrap_or(owner_value);
                        let query = ["query", "document"]
                            .iter()
                            .find_map(|k| request.get(*k).and_then(Value::as_str))
                            .map(str::to_string);
                        out.push(Case {
                            key: format!("{file}#{owner_pointer}"),
                            query,
                            operation_name: request
                                .get("operationName")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                            variables: request.get("variables").cloned().unwrap_or(json!({})),
                            payload: node.clone(),
                        });
                        return;
                    }
                    let is_owner = ["query", "document", "variables", "request"]
                        .iter()
                        .any(|k| map.contains_key(*k));
                    for (k, v) in map {
                        let child = format!("{pointer}/{k}");
                        let owner = if is_owner {
                            Some((pointer, node))
                        } else {
                            owner
                        };
                        walk(v, &child, owner, file, out);
                    }
                }
                Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        walk(v, &format!("{pointer}/{i}"), owner, file, out);
                    }
                }
                _ => {}
            }
        }
        let mut files: Vec<_> = std::fs::read_dir(format!("{CAPTURES}/products-2025-01"))
            .expect("captures present")
            .chain(
                std::fs::read_dir(format!("{CAPTURES}/bulk-operations-2025-01"))
                    .expect("captures present"),
            )
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let mut cases = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("readable capture");
            let value: Value = serde_json::from_str(&text).expect("capture is JSON");
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            walk(&value, "", None, &file, &mut cases);
        }
        cases
    }

    fn strip_locations(errors: &mut [Value]) {
        for e in errors {
            if let Some(obj) = e.as_object_mut() {
                obj.remove("locations");
            }
        }
    }

    /// Every captured validation error is reproduced: same messages, codes, locations,
    /// paths and extensions, in the same order.
    ///
    /// Not matched exactly (and handled here): `ProductStatus` lists `UNLISTED` since
    /// 2025-10; reconstructed documents (see module doc) are compared without locations;
    /// the two `MAX_INPUT_SIZE_EXCEEDED` captures go through [`check_input_sizes`] and
    /// carry `extensions.cost`, which the server adds.
    #[test]
    fn captured_validation_errors_are_reproduced() {
        let cases = captured_cases();
        let mut checked = 0;
        let mut mismatches = Vec::new();
        for case in &cases {
            let expected_text = case.payload["errors"].to_string().replace(
                "to be one of: ACTIVE, ARCHIVED, DRAFT",
                "to be one of: ACTIVE, ARCHIVED, DRAFT, UNLISTED",
            );
            let mut expected: Vec<Value> = serde_json::from_str(&expected_text).expect("re-parse");
            let (query, exact) = match (&case.query, reconstructed(&case.key)) {
                (Some(q), _) => (q.clone(), true),
                (None, Some(q)) => (q, false),
                (None, None) => {
                    mismatches.push(format!("{}: no document and no reconstruction", case.key));
                    continue;
                }
            };
            let variables = case.variables.as_object().cloned().unwrap_or_default();
            let result =
                validate_request(schema(), &query, case.operation_name.as_deref(), &variables);
            let mut actual = match result {
                Err(errors) => errors,
                Ok(request) => {
                    assert!(
                        case.payload.pointer("/extensions/cost").is_some(),
                        "{}: only execution-time errors carry a cost",
                        case.key
                    );
                    check_input_sizes(schema(), &request)
                }
            };
            if !exact {
                strip_locations(&mut actual);
                strip_locations(&mut expected);
            }
            checked += 1;
            if actual != expected {
                mismatches.push(format!(
                    "{}:\n  expected {}\n  actual   {}",
                    case.key,
                    Value::Array(expected),
                    Value::Array(actual)
                ));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} of {checked} differ:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
        assert_eq!(checked, 38, "every captured validation error is checked");
    }

    #[test]
    fn parse_errors_use_the_c_parser_messages() {
        // Captured from Shopify (2025-01), shopify-draft-proxy graphql-base-validation-unhappy-paths.
        let errors = errors_of(
            "query GraphqlBaseValidationInvalidSyntax {\n  shop {\n    id\n",
            None,
            json!({}),
        );
        assert_eq!(
            Value::Array(errors),
            json!([{
                "message": "syntax error, unexpected end of file at [3, 5]",
                "locations": [{ "line": 3, "column": 5 }],
                "extensions": { "code": "PARSE_ERROR" }
            }])
        );
        // Same parser, as quoted by Shopify in bulk-operation userErrors.
        let errors = errors_of("mutation { not parseable", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "syntax error, unexpected end of file at [1, 16]"
        );
        let errors = errors_of("", None, json!({}));
        assert_eq!(errors[0]["message"], "syntax error, unexpected end of file");
        assert_eq!(errors[0]["locations"], json!([]));
        // Derived from graphql-ruby's grammar and `prepare_parse_error`.
        let errors = errors_of("query { shop { id - } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "syntax error, unexpected invalid token (\"-\") at [1, 19]"
        );
        let errors = errors_of("query { shop { id } } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "syntax error, unexpected RCURLY (\"}\") at [1, 23]"
        );
        let errors = errors_of("query Q($a: Int { shop { id } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "syntax error, unexpected LCURLY (\"{\"), expecting RPAREN or VAR_SIGN at [1, 17]"
        );
        assert_eq!(errors[0]["locations"], json!([{ "line": 1, "column": 17 }]));
        let errors = errors_of("query { shop(a 1) { id } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "syntax error, unexpected INT (\"1\"), expecting COLON at [1, 16]"
        );
        let errors = errors_of("query { shop(a: true, b: } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "syntax error, unexpected RCURLY (\"}\") at [1, 26]"
        );
        let errors = errors_of("{ shop { name(x: \"\\q\") } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "syntax error, unexpected invalid token (\"\\\"\") at [1, 18]"
        );
    }

    #[test]
    fn operation_selection_errors() {
        // Messages captured from Shopify (2026-04), shopify-draft-proxy
        // graphql-request-execution-operation-name-defaults.
        let doc = "query A { shop { id } } query B { shop { name } }";
        assert_eq!(
            errors_of(doc, None, json!({})),
            vec![json!({ "message": "An operation name is required" })]
        );
        assert_eq!(
            errors_of(doc, Some("Missing"), json!({})),
            vec![json!({ "message": "No operation named \"Missing\"" })]
        );
        let ok = validate_request(schema(), doc, Some("B"), &Map::new()).expect("valid");
        assert_eq!(ok.operation_name.as_deref(), Some("B"));
        let errors = errors_of("query A { shop { id } } { shop { name } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "Operation name is required when multiple operations are present"
        );
        assert_eq!(errors[0]["extensions"]["code"], "uniquelyNamedOperations");
    }

    #[test]
    fn shopify_captured_static_errors() {
        // Captured from Shopify (2025-01), shopify-draft-proxy graphql-base-validation-unhappy-paths.
        let errors = errors_of(
            "query GraphqlBaseValidationMissingSubselection {\n  shop\n}\n",
            None,
            json!({}),
        );
        assert_eq!(
            Value::Array(errors),
            json!([{
                "message": "Field must have selections (field 'shop' returns Shop but has no selections. Did you mean 'shop { ... }'?)",
                "locations": [{ "line": 2, "column": 3 }],
                "path": ["query GraphqlBaseValidationMissingSubselection", "shop"],
                "extensions": { "code": "selectionMismatch", "nodeName": "field 'shop'", "typeName": "Shop" }
            }])
        );
        let errors = errors_of(
            "query GraphqlBaseValidationUnknownProductField {\n  products(first: 1) {\n    nodes {\n      id\n      definitelyNotAProductField\n    }\n  }\n}\n",
            None,
            json!({}),
        );
        assert_eq!(
            Value::Array(errors),
            json!([{
                "message": "Field 'definitelyNotAProductField' doesn't exist on type 'Product'",
                "locations": [{ "line": 5, "column": 7 }],
                "path": ["query GraphqlBaseValidationUnknownProductField", "products", "nodes", "definitelyNotAProductField"],
                "extensions": { "code": "undefinedField", "typeName": "Product", "fieldName": "definitelyNotAProductField" }
            }])
        );
        let errors = errors_of(
            "mutation GraphqlBaseValidationMissingRequiredVariable($product: ProductCreateInput!) {\n  productCreate(product: $product) {\n    product {\n      id\n    }\n    userErrors {\n      field\n      message\n    }\n  }\n}\n",
            None,
            json!({}),
        );
        assert_eq!(
            Value::Array(errors),
            json!([{
                "message": "Variable $product of type ProductCreateInput! was provided invalid value",
                "locations": [{ "line": 1, "column": 55 }],
                "extensions": {
                    "code": "INVALID_VARIABLE",
                    "value": null,
                    "problems": [{ "path": [], "explanation": "Expected value to not be null" }]
                }
            }])
        );
        let errors = errors_of(
            "mutation GraphqlBaseValidationMissingInputRequiredProperty(\n  $webhookSubscription: PubSubWebhookSubscriptionInput!\n) {\n  pubSubWebhookSubscriptionCreate(\n    topic: ORDERS_CREATE\n    webhookSubscription: $webhookSubscription\n  ) {\n    webhookSubscription {\n      id\n    }\n    userErrors {\n      field\n      message\n    }\n  }\n}\n",
            None,
            json!({ "webhookSubscription": { "pubSubProject": "shopify-draft-proxy-validation" } }),
        );
        assert_eq!(
            Value::Array(errors),
            json!([{
                "message": "Variable $webhookSubscription of type PubSubWebhookSubscriptionInput! was provided invalid value for pubSubTopic (Expected value to not be null)",
                "locations": [{ "line": 2, "column": 3 }],
                "extensions": {
                    "code": "INVALID_VARIABLE",
                    "value": { "pubSubProject": "shopify-draft-proxy-validation" },
                    "problems": [{ "path": ["pubSubTopic"], "explanation": "Expected value to not be null" }]
                }
            }])
        );
    }

    #[test]
    fn other_graphql_ruby_rules() {
        let errors = errors_of(
            "query { product(id: \"not-a-gid\") { id } }",
            None,
            json!({}),
        );
        assert_eq!(
            Value::Array(errors),
            json!([{
                "message": "Invalid global id 'not-a-gid'",
                "locations": [{ "line": 1, "column": 9 }],
                "path": ["query", "product", "id"],
                "extensions": { "code": "argumentLiteralsIncompatible", "typeName": "CoercionError" }
            }])
        );
        let errors = errors_of(
            "mutation { productChangeStatus(status: ACTIVE) { userErrors { field } } }",
            None,
            json!({}),
        );
        assert_eq!(
            errors[0]["message"],
            "Field 'productChangeStatus' is missing required arguments: productId"
        );
        assert_eq!(errors[0]["extensions"]["code"], "missingRequiredArguments");
        let errors = errors_of("query Q($n: Int) { shop { id } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "Variable $n is declared by Q but not used"
        );
        assert_eq!(errors[0]["path"], json!(["query Q"]));
        let errors = errors_of(
            "query { products(first: $n) { nodes { id } } }",
            None,
            json!({}),
        );
        assert_eq!(
            errors[0]["message"],
            "Variable $n is used by anonymous query but not declared"
        );
        assert_eq!(errors[0]["locations"], json!([{ "line": 1, "column": 25 }]));
        let errors = errors_of(
            "query Q($n: Foo) { products(first: $n) { nodes { id } } }",
            None,
            json!({}),
        );
        assert_eq!(
            errors[0]["message"],
            "Foo isn't a defined input type (on $n)"
        );
        let errors = errors_of(
            "query Q($n: String) { products(first: $n) { nodes { id } } }",
            None,
            json!({}),
        );
        assert_eq!(
            errors[0]["message"],
            "Type mismatch on variable $n and argument first (String / Int)"
        );
        let errors = errors_of("query { shop { id { x } } }", None, json!({}));
        assert_eq!(errors[0]["message"], "Selections can't be made on scalars (field 'id' returns ID but has selections [\"x\"])");
        let errors = errors_of("query { shop @skip { id } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "Directive 'skip' is missing required arguments: if"
        );
        let errors = errors_of(
            "query { node(id: \"gid://shopify/Product/1\") { ... on Nope { id } } }",
            None,
            json!({}),
        );
        assert_eq!(
            errors[0]["message"],
            "No such type Nope, so it can't be a fragment condition"
        );
        assert_eq!(errors[0]["path"], json!(["query", "node", "... on Nope"]));
        let errors = errors_of("query { shop { ...F } }", None, json!({}));
        assert_eq!(errors[0]["message"], "Fragment F was used, but not defined");
        let errors = errors_of(
            "query { shop { id } } fragment F on Shop { id }",
            None,
            json!({}),
        );
        assert_eq!(errors[0]["message"], "Fragment F was defined, but not used");
        let errors = errors_of("query { shop { a: id a: name } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "Field 'a' has a field conflict: id or name?"
        );
        let errors = errors_of(
            "mutation { productCreate(product: {title: \"x\", title: \"y\"}) { product { id } } }",
            None,
            json!({}),
        );
        assert_eq!(
            errors[0]["message"],
            "There can be only one input field named \"title\""
        );
    }

    #[test]
    fn hostile_or_unusual_documents_are_answered_without_panics() {
        let deep = format!("query {{ shop {}", "{ a ".repeat(5_000));
        assert_eq!(
            errors_of(&deep, None, json!({}))[0]["message"],
            "This query is too large to execute."
        );
        let deep_value = format!("query {{ shop(x: {}) {{ id }} }}", "[".repeat(5_000));
        assert_eq!(
            errors_of(&deep_value, None, json!({}))[0]["message"],
            "This query is too large to execute."
        );
        let bad_escape = errors_of("{ shop(x: \"\\uD800\") { id } }", None, json!({}));
        assert_eq!(
            bad_escape[0]["message"],
            "Parse error on bad Unicode escape sequence: \"\\\\uD800\" (error) at [1, 11]"
        );
        for doc in [
            "{}",
            "{ shop { id } }\r\n{ shop { id } }",
            "fragment on Shop { id } query { shop { id } }",
            "type X { a: Int } query { shop { id } }",
            "subscription S { shop { id } }",
            "query Q($a: [[Int]] = [[1]], $b: Int = \"x\") { shop { id } }",
            "query { shop { name(x: \"\"\"block\n\"\"\") } } # ünïcode",
            "query { shop { ... on Shop { ... on Product { id } } } }",
            "query { shop { ...A } } fragment A on Shop { ...B } fragment B on Shop { ...A }",
            "query @skip(if: true) @skip(if: false) { shop { id } }",
            "query { nodes(ids: [\"gid://shopify/Product/1\", 7]) { id } }",
            "query ($x: ProductStatus = ENABLED) { shop { id } }",
            "query { shop { id } } query { shop { id } }",
            "\u{feff}query { shop { id } }",
            "query { shop { id ",
            "query { shop { id } } }",
            "\"\"\"",
        ] {
            let variables = Map::new();
            // Whatever the verdict, it must be an answer, not a panic.
            let _ = validate_request(schema(), doc, None, &variables);
        }
        let errors = errors_of("{}", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "Field must have selections (anonymous query returns QueryRoot but has no selections. Did you mean ' { ... }'?)"
        );
        let errors = errors_of(
            "query { shop { ...A } } fragment A on Shop { ...B } fragment B on Shop { ...A }",
            None,
            json!({}),
        );
        assert!(
            errors
                .iter()
                .any(|e| e["extensions"]["code"] == "infiniteLoop"),
            "{errors:?}"
        );
        let errors = errors_of("subscription S { shop { id } }", None, json!({}));
        assert_eq!(
            errors[0]["message"],
            "Schema is not configured for subscriptions"
        );
    }

    #[test]
    fn valid_requests_pass_with_coerced_variables() {
        let query = "query Products($first: Int = 5, $ids: [ID!]!) { products(first: $first) { nodes { id } } nodes(ids: $ids) { id } }";
        let vars = json!({ "ids": "gid://shopify/Product/1" });
        let request = validate_request(schema(), query, None, vars.as_object().expect("object"))
            .expect("valid");
        assert_eq!(request.operation_name.as_deref(), Some("Products"));
        assert_eq!(request.operation.name.as_deref(), Some("Products"));
        assert_eq!(
            serde_json::to_value(&*request.variables).expect("json"),
            json!({ "first": 5, "ids": ["gid://shopify/Product/1"] })
        );
        assert!(check_input_sizes(schema(), &request).is_empty());
    }

    #[test]
    fn input_lists_over_the_limit_are_found_in_literals_and_variables() {
        let tags: Vec<String> = (0..251).map(|i| format!("\"t{i}\"")).collect();
        let query = format!(
            "mutation {{\n  productUpdate(product: {{id: \"gid://shopify/Product/1\", tags: [{}]}}) {{ product {{ id }} }}\n}}",
            tags.join(", ")
        );
        let request = validate_request(schema(), &query, None, &Map::new()).expect("valid");
        assert_eq!(
            check_input_sizes(schema(), &request),
            vec![json!({
                "message": "The input array size of 251 is greater than the maximum allowed of 250.",
                "locations": [{ "line": 2, "column": 3 }],
                "path": ["productUpdate", "product", "tags"],
                "extensions": { "code": "MAX_INPUT_SIZE_EXCEEDED" }
            })]
        );
    }

    #[test]
    fn variables_member_must_be_an_object() {
        assert_eq!(variables_from_json(None).expect("ok"), Map::new());
        assert_eq!(
            variables_from_json(Some(&json!(null))).expect("ok"),
            Map::new()
        );
        assert_eq!(
            variables_from_json(Some(&json!("{\"a\": 1}"))).expect("ok")["a"],
            json!(1)
        );
        assert!(variables_from_json(Some(&json!([1]))).is_err());
        assert!(variables_from_json(Some(&json!("[1]"))).is_err());
    }

    #[test]
    fn ruby_formats() {
        assert_eq!(ruby_float(1.5), "1.5");
        assert_eq!(ruby_float(2.0), "2.0");
        assert_eq!(ruby_float(1e20), "1.0e+20");
        assert_eq!(ruby_float(1.5e-5), "1.5e-05");
        assert_eq!(ruby_inspect("a\"b\n"), "\"a\\\"b\\n\"");
        assert!(is_global_id("gid://shopify/Product/1"));
        assert!(!is_global_id("gid://shopify/Product"));
        assert!(!is_global_id("not-a-gid"));
        assert_eq!(url_problem("not-a-url"), Some("missing scheme"));
        assert_eq!(url_problem("javascript:alert(1)"), Some("missing host"));
        assert_eq!(url_problem("https://example.com/x"), None);
    }
}
