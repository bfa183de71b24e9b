//! The subset of kubectl's `-o jsonpath=` that scripts use: literal text and `{...}` holes
//! with dotted paths, `[N]` indexes and `[*]` wildcards.

use serde_json::Value;

use crate::error::CliError;

/// The template is not in the subset: kubectl's words, naming it.
fn invalid(template: &str, reason: &str) -> CliError {
    CliError(format!("invalid jsonpath {template:?}: {reason}"))
}

enum Step {
    Key(String),
    Index(usize),
    All,
}

fn parse_path(template: &str, expr: &str) -> Result<Vec<Step>, CliError> {
    let bad = |reason: &str| invalid(template, reason);
    let expr = expr.trim();
    let rest = expr
        .strip_prefix('.')
        .ok_or_else(|| bad("a path must start with '.'"))?;
    let mut steps = Vec::new();
    if rest.is_empty() {
        return Ok(steps);
    }
    for part in rest.split('.') {
        let (key, mut brackets) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_owned()));
        } else if brackets.is_empty() {
            return Err(bad("empty path segment"));
        }
        while let Some(inner) = brackets.strip_prefix('[') {
            let end = inner.find(']').ok_or_else(|| bad("unclosed '['"))?;
            let index = &inner[..end];
            steps.push(if index == "*" {
                Step::All
            } else {
                Step::Index(
                    index
                        .parse()
                        .map_err(|_| bad("an index must be a number or *"))?,
                )
            });
            brackets = &inner[end + 1..];
        }
        if !brackets.is_empty() {
            return Err(bad("text after ']'"));
        }
    }
    Ok(steps)
}

fn eval<'a>(values: Vec<&'a Value>, step: &Step) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for v in values {
        match step {
            Step::Key(k) => out.extend(v.get(k)),
            Step::Index(i) => out.extend(v.get(*i)),
            Step::All => match v {
                Value::Array(items) => out.extend(items.iter()),
                Value::Object(map) => out.extend(map.values()),
                _ => {}
            },
        }
    }
    out
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders `template` (e.g. `{.status.certificate}`) against `value` as kubectl does: strings
/// bare, several results separated by spaces, a missing field as nothing.
///
/// # Errors
/// An error naming the template when it is outside the subset.
pub(crate) fn jsonpath(template: &str, value: &Value) -> Result<String, CliError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| invalid(template, "unclosed '{'"))?;
        let steps = parse_path(template, &after[..close])?;
        let mut values = vec![value];
        for step in &steps {
            values = eval(values, step);
        }
        let shown: Vec<String> = values.into_iter().map(show).collect();
        out.push_str(&shown.join(" "));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset() {
        let v: Value = serde_json::json!({
            "metadata": {"name": "jane"},
            "spec": {"usages": ["client auth", "digital signature"]},
            "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]
        });
        assert_eq!(jsonpath("{.metadata.name}", &v).unwrap(), "jane");
        assert_eq!(jsonpath("{.spec.usages[0]}", &v).unwrap(), "client auth");
        assert_eq!(jsonpath("{.items[*].metadata.name}", &v).unwrap(), "a b");
        assert_eq!(
            jsonpath("name={.metadata.name}\n", &v).unwrap(),
            "name=jane\n"
        );
        assert_eq!(jsonpath("{.status.certificate}", &v).unwrap(), "");
        assert_eq!(
            jsonpath("{.a", &v).unwrap_err().to_string(),
            "invalid jsonpath \"{.a\": unclosed '{'"
        );
        assert!(
            jsonpath("{metadata}", &v)
                .unwrap_err()
                .to_string()
                .starts_with("invalid jsonpath \"{metadata}\": ")
        );
    }
}
