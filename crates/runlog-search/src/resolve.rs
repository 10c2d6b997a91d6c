//! The second pass of parsing: gives each raw clause its subject, value and predicate.
//!
//! The checks run in MLflow's order: the key (`_get_identifier`), then the value's type
//! (`_get_value`), then the comparator. MLflow checks the comparator only when a run is
//! evaluated; here it is checked at once, so a bad filter fails even on an empty experiment.

use crate::ast::{Clause, NumOp, Number, Predicate};
use crate::error::{ErrorKind, SearchError};
use crate::ident::{Entity, Identifier, is_quoted, py_set, resolve_identifier, trim_ends};
use crate::parser::{Comparator, RawClause, Span, ValueClass};
use crate::pattern::LikePattern;
use crate::pylist::{ListError, parse_list};

/// The value of a clause once its type is known.
enum Operand {
    Number(Number),
    Text(String),
    List(Vec<String>),
}

/// What the second pass needs to know about a filter language beyond its keys.
pub(crate) struct ValueRules {
    /// Attribute keys that hold numbers (MLflow's `NUMERIC_ATTRIBUTES`).
    pub(crate) numeric_attributes: &'static [&'static str],
    /// Whether an integer literal compared with a numeric attribute stays an integer (runs:
    /// `int(value)`) or becomes a float (experiments: `float(value)`).
    pub(crate) exact_integers: bool,
    /// The entities that take `IS NULL`, as MLflow's message names them.
    pub(crate) null_check_entities: &'static str,
}

/// The rules of `search_runs` filters.
const RUN_VALUES: ValueRules = ValueRules {
    numeric_attributes: &["start_time", "end_time", "created", "Created"],
    exact_integers: true,
    null_check_entities: "tags and params",
};

/// Second pass: validates one raw clause of a run filter and turns it into a [`Clause`].
pub(crate) fn resolve_clause(raw: &RawClause<'_>) -> Result<Clause, SearchError> {
    let ident = resolve_identifier(raw.ident.text, raw.ident.start, false)?;
    let subject = ident.subject().ok_or_else(|| {
        SearchError::at(
            ErrorKind::InvalidAttribute,
            raw.ident.start,
            format!("Unknown key '{}'", ident.key),
            "",
        )
    })?;
    let predicate = resolve_predicate(raw, &ident, &RUN_VALUES)?;
    Ok(Clause { subject, predicate })
}

/// Checks the value and the comparator of `raw`, whose key resolved to `ident`, and builds
/// the predicate. Shared by every filter language; `rules` holds what differs.
pub(crate) fn resolve_predicate(
    raw: &RawClause<'_>,
    ident: &Identifier,
    rules: &ValueRules,
) -> Result<Predicate, SearchError> {
    let Some((class, value)) = raw.value else {
        if !matches!(ident.entity, Entity::Param | Entity::Tag) {
            return Err(SearchError::at(
                ErrorKind::InvalidNullCheck,
                raw.comparator_at,
                format!(
                    "IS NULL / IS NOT NULL is only supported for {}, not for '{}' '{}'",
                    rules.null_check_entities,
                    ident.entity.name(),
                    ident.key
                ),
                "",
            ));
        }
        let negated = raw.comparator == Comparator::IsNotNull;
        return Ok(Predicate::IsNull { negated });
    };
    let operand = operand(ident, class, value, rules)?;
    predicate(ident, &raw.comparator, raw.comparator_at, operand, rules)
}

/// `SearchUtils._get_value`: checks that the value has the type the entity needs.
fn operand(
    ident: &Identifier,
    class: ValueClass,
    value: Span<'_>,
    rules: &ValueRules,
) -> Result<Operand, SearchError> {
    let raw = value.text;
    let error = |kind: ErrorKind, message: String, detail: &str| {
        SearchError::at(kind, value.start, message, detail)
    };
    let quoted_string = || -> Result<Operand, SearchError> {
        if is_quoted(raw, '\'') || is_quoted(raw, '"') {
            Ok(Operand::Text(trim_ends(raw).to_owned()))
        } else {
            Err(error(
                ErrorKind::InvalidValue,
                format!(
                    "Parameter value is either not quoted or unidentified quote types used for string value {raw}. \
                     Use either single or double quotes."
                ),
                "",
            ))
        }
    };
    let list = || -> Result<Operand, SearchError> {
        parse_list(raw).map(Operand::List).map_err(|e| {
            let message = match e {
                ListError::IllFormed => "While parsing a list in the query, expected a non-empty list of string \
                                         values, but got ill-formed list."
                    .to_owned(),
                ListError::Empty => "While parsing a list in the query, expected a non-empty list of string values, \
                                     but got empty list"
                    .to_owned(),
                ListError::NotString => format!(
                    "While parsing a list in the query, expected string value, punctuation, or whitespace, but got \
                     different type in list: {raw}"
                ),
            };
            error(ErrorKind::InvalidList, message, "list items are Python string literals")
        })
    };
    let is_string = matches!(class, ValueClass::Str | ValueClass::Ident);
    match ident.entity {
        Entity::Metric => match class {
            ValueClass::Int | ValueClass::Float => {
                Ok(Operand::Number(Number::Float(parse_float(raw))))
            }
            _ => Err(error(
                ErrorKind::InvalidValue,
                format!("Expected numeric value type for metric. Found {raw}"),
                "metric values are unquoted numbers such as 0.5, -1.5e3 or 10",
            )),
        },
        Entity::Param | Entity::Tag if is_string => quoted_string(),
        Entity::Param | Entity::Tag => Err(error(
            ErrorKind::InvalidValue,
            format!(
                "Expected a quoted string value for {} (e.g. 'my-value'). Got value {raw}",
                ident.entity.name()
            ),
            "",
        )),
        Entity::Attribute if rules.numeric_attributes.contains(&ident.key.as_str()) => {
            match class {
                ValueClass::Int if rules.exact_integers => {
                    Ok(Operand::Number(Number::Int(parse_int(raw))))
                }
                ValueClass::Int => Ok(Operand::Number(Number::Float(parse_float(raw)))),
                ValueClass::Float => Ok(Operand::Number(Number::Float(parse_float(raw)))),
                _ => Err(error(
                    ErrorKind::InvalidValue,
                    format!(
                        "Expected numeric value type for numeric attribute: {}. Found {raw}",
                        ident.key
                    ),
                    "times are unquoted numbers of milliseconds",
                )),
            }
        }
        Entity::Attribute if is_string => quoted_string(),
        Entity::Attribute if class == ValueClass::List => {
            if ident.key != "run_id" {
                return Err(error(
                    ErrorKind::InvalidList,
                    "Only ['run_id'] attributes support comparison with a list of quoted string values.".to_owned(),
                    "",
                ));
            }
            list()
        }
        Entity::Attribute => Err(error(
            ErrorKind::InvalidValue,
            format!("Expected a quoted string value for attributes. Got value {raw}"),
            "",
        )),
        Entity::Dataset if is_string => quoted_string(),
        Entity::Dataset if class == ValueClass::List => list(),
        Entity::Dataset => Err(error(
            ErrorKind::InvalidValue,
            format!("Expected a quoted string value for dataset attributes. Got value {raw}"),
            "",
        )),
    }
}

/// Python's `float()` of a literal the lexer accepted as a number.
fn parse_float(raw: &str) -> f64 {
    // The lexer only produces ASCII digits, one optional '-', '.', and an exponent, all of
    // which Rust's parser accepts; overflow gives an infinity as in Python.
    raw.parse::<f64>().unwrap_or(f64::NAN)
}

/// Python's `int()` of an integer literal, saturated to `i128`.
fn parse_int(raw: &str) -> i128 {
    raw.parse::<i128>().unwrap_or(if raw.starts_with('-') {
        i128::MIN
    } else {
        i128::MAX
    })
}

/// Checks the comparator against the entity and builds the predicate.
fn predicate(
    ident: &Identifier,
    comparator: &Comparator,
    at: usize,
    operand: Operand,
    rules: &ValueRules,
) -> Result<Predicate, SearchError> {
    let numeric = ident.entity == Entity::Metric
        || (ident.entity == Entity::Attribute
            && rules.numeric_attributes.contains(&ident.key.as_str()));
    let allowed: &[&str] = if numeric {
        &["=", "!=", "<", "<=", ">", ">="]
    } else if matches!(ident.entity, Entity::Param | Entity::Tag) {
        &["=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"]
    } else {
        &["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"]
    };
    let text = comparator.text();
    if !allowed.contains(&text) {
        let what = if numeric { "numbers" } else { "strings" };
        return Err(SearchError::at(
            ErrorKind::InvalidComparator,
            at,
            format!(
                "Invalid comparator '{text}' not one of '{}'",
                py_set(allowed)
            ),
            &format!("{} compares {what}", ident.entity.name()),
        ));
    }
    let not_a_list = || {
        SearchError::at(
            ErrorKind::InvalidList,
            at,
            format!("Comparator '{text}' cannot take a list of values"),
            "a parenthesised list may only follow IN or NOT IN",
        )
    };
    Ok(match (comparator, operand) {
        (Comparator::In | Comparator::NotIn, Operand::List(values)) => Predicate::In {
            negated: *comparator == Comparator::NotIn,
            values,
        },
        (_, Operand::List(_)) => return Err(not_a_list()),
        (Comparator::Like, Operand::Text(v)) => Predicate::Like(LikePattern::new(&v, false)),
        (Comparator::ILike, Operand::Text(v)) => Predicate::Like(LikePattern::new(&v, true)),
        (Comparator::Op(op), Operand::Text(value)) => Predicate::Text {
            equal: op == "=",
            value,
        },
        (Comparator::Op(op), Operand::Number(value)) => Predicate::Compare {
            op: num_op(op),
            value,
        },
        // The comparator sets above leave no other combination.
        _ => return Err(not_a_list()),
    })
}

/// The numeric comparator for an operator already checked to be one of the six.
fn num_op(op: &str) -> NumOp {
    match op {
        "=" => NumOp::Eq,
        "!=" => NumOp::Ne,
        "<" => NumOp::Lt,
        "<=" => NumOp::Le,
        ">" => NumOp::Gt,
        _ => NumOp::Ge,
    }
}
