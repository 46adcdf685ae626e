//! The two record query languages of CRM, in the subsets the mock documents: search `criteria`
//! (`(Field:operator:value)` groups joined by `and`/`or`) and COQL (`select … from … where …
//! limit … offset …`). Both parse into one [`Filter`] that matches records as JSON values.

use serde_json::Value;

/// A comparison of one field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// Equal to any of the values (case-insensitive).
    Equals,
    /// Equal to none of the values.
    NotEqual,
    /// Starts with any of the values (case-insensitive).
    StartsWith,
    /// COQL `like`: `%` matches any run of characters.
    Like,
    /// The field is empty or absent.
    IsNull,
    /// The field has a value.
    IsNotNull,
}

/// A parsed condition tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Cond { field: String, op: Op, values: Vec<String> },
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

impl Filter {
    /// Every field the filter names.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Filter::Cond { field, .. } => vec![field.as_str()],
            Filter::And(v) | Filter::Or(v) => v.iter().flat_map(Filter::fields).collect(),
        }
    }

    /// Whether `record` satisfies the filter.
    pub fn matches(&self, record: &Value) -> bool {
        match self {
            Filter::And(v) => v.iter().all(|f| f.matches(record)),
            Filter::Or(v) => v.iter().any(|f| f.matches(record)),
            Filter::Cond { field, op, values } => {
                let actual = field_text(record, field);
                let eq = |v: &String| actual.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(v));
                match op {
                    Op::Equals => values.iter().any(eq),
                    Op::NotEqual => !values.iter().any(eq),
                    Op::StartsWith => values
                        .iter()
                        .any(|v| actual.as_deref().is_some_and(|a| a.to_lowercase().starts_with(&v.to_lowercase()))),
                    Op::Like => values.iter().any(|v| actual.as_deref().is_some_and(|a| like(a, v))),
                    Op::IsNull => actual.is_none(),
                    Op::IsNotNull => actual.is_some(),
                }
            }
        }
    }
}

/// A field's value as text: strings and numbers as they are, a lookup by its id; `None` when the
/// field is absent, null or empty. Field names compare without case, as Zoho's API names do.
pub(crate) fn field_text(record: &Value, field: &str) -> Option<String> {
    let obj = record.as_object()?;
    let (_, v) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(field))?;
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(o) => o.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => String::new(),
    };
    (!text.is_empty()).then_some(text)
}

/// SQL `LIKE` with `%` only, case-insensitive.
fn like(text: &str, pattern: &str) -> bool {
    let text = text.to_lowercase();
    let parts: Vec<String> = pattern.to_lowercase().split('%').map(String::from).collect();
    if parts.len() == 1 {
        return text == parts[0];
    }
    let (first, last) = (&parts[0], &parts[parts.len() - 1]);
    if !text.starts_with(first.as_str()) || !text[first.len()..].ends_with(last.as_str()) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid.as_str()) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Parses search `criteria`: `(Field:op:value)`, or groups of them joined by `and`/`or`, each
/// group in parentheses. Values may escape `(`, `)` and `,` with a backslash; a comma separates
/// alternative values. `and` binds tighter than `or`.
pub(crate) fn parse_criteria(input: &str) -> Result<Filter, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut pos = 0;
    let f = criteria_expr(&chars, &mut pos)?;
    skip_ws(&chars, &mut pos);
    if pos != chars.len() {
        return Err(format!("unexpected text at position {pos}"));
    }
    Ok(f)
}

fn skip_ws(c: &[char], pos: &mut usize) {
    while *pos < c.len() && c[*pos].is_whitespace() {
        *pos += 1;
    }
}

fn criteria_expr(c: &[char], pos: &mut usize) -> Result<Filter, String> {
    let mut terms = vec![criteria_group(c, pos)?];
    let mut joins = Vec::new();
    loop {
        skip_ws(c, pos);
        let rest: String = c[*pos..].iter().take(3).collect::<String>().to_ascii_lowercase();
        let join = if rest.starts_with("and") {
            "and"
        } else if rest.starts_with("or") {
            "or"
        } else {
            break;
        };
        *pos += join.len();
        joins.push(join);
        terms.push(criteria_group(c, pos)?);
    }
    Ok(combine(terms, &joins))
}

/// `a and b or c` → `(a and b) or c`.
fn combine(terms: Vec<Filter>, joins: &[&str]) -> Filter {
    let mut ors = Vec::new();
    let mut ands = Vec::new();
    for (i, t) in terms.into_iter().enumerate() {
        ands.push(t);
        if joins.get(i).is_none_or(|j| *j == "or") {
            let group = std::mem::take(&mut ands);
            ors.push(if group.len() == 1 {
                group.into_iter().next().unwrap_or(Filter::And(vec![]))
            } else {
                Filter::And(group)
            });
        }
    }
    if ors.len() == 1 { ors.into_iter().next().unwrap_or(Filter::And(vec![])) } else { Filter::Or(ors) }
}

fn criteria_group(c: &[char], pos: &mut usize) -> Result<Filter, String> {
    skip_ws(c, pos);
    if c.get(*pos) != Some(&'(') {
        return Err(format!("expected ( at position {}", *pos));
    }
    *pos += 1;
    skip_ws(c, pos);
    if c.get(*pos) == Some(&'(') {
        let inner = criteria_expr(c, pos)?;
        skip_ws(c, pos);
        if c.get(*pos) != Some(&')') {
            return Err(format!("expected ) at position {}", *pos));
        }
        *pos += 1;
        return Ok(inner);
    }
    // A condition: read to the first unescaped ')', keeping escapes for the value split.
    let mut raw = String::new();
    loop {
        match c.get(*pos) {
            None => return Err("unclosed (".into()),
            Some('\\') => {
                raw.push('\\');
                if let Some(n) = c.get(*pos + 1) {
                    raw.push(*n);
                }
                *pos += 2;
            }
            Some(')') => {
                *pos += 1;
                break;
            }
            Some(ch) => {
                raw.push(*ch);
                *pos += 1;
            }
        }
    }
    let mut parts = raw.splitn(3, ':');
    let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("a condition is (field:operator:value), got ({raw})"));
    };
    let field = field.trim();
    if field.is_empty() || !field.chars().all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '$' || ch == '.') {
        return Err(format!("invalid field name {field:?}"));
    }
    let op = match op.trim().to_ascii_lowercase().as_str() {
        "equals" | "in" => Op::Equals,
        "not_equal" | "not_in" => Op::NotEqual,
        "starts_with" => Op::StartsWith,
        other => return Err(format!("unsupported operator {other:?}")),
    };
    Ok(Filter::Cond { field: field.to_string(), op, values: split_values(value) })
}

/// Splits on unescaped commas and removes the escapes.
fn split_values(raw: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = raw.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                if let (Some(n), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(n);
                }
            }
            ',' => out.push(String::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(ch);
                }
            }
        }
    }
    out
}

/// A parsed COQL query.
#[derive(Debug, PartialEq)]
pub(crate) struct Query {
    pub fields: Vec<String>,
    pub module: String,
    pub filter: Option<Filter>,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// Where a COQL query went wrong: the clause (for `SYNTAX_ERROR` details) and why.
#[derive(Debug, PartialEq)]
pub(crate) struct QueryError {
    pub clause: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(String),
    Sym(String),
}

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match c.get(i) {
                    None => return Err("unterminated string".into()),
                    Some('\\') => {
                        if let Some(n) = c.get(i + 1) {
                            s.push(*n);
                        }
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if ch.is_ascii_digit() || (ch == '-' && c.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(c[start..i].iter().collect()));
        } else if ch.is_alphanumeric() || ch == '_' || ch == '$' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$' || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Word(c[start..i].iter().collect()));
        } else if (ch == '!' && c.get(i + 1) == Some(&'=')) || (ch == '<' && c.get(i + 1) == Some(&'>')) {
            out.push(Tok::Sym("!=".into()));
            i += 2;
        } else if matches!(ch, ',' | '(' | ')' | '=' | '*') {
            out.push(Tok::Sym(ch.to_string()));
            i += 1;
        } else {
            return Err(format!("unexpected character {ch:?}"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        match self.peek() {
            Some(Tok::Word(w)) if !is_reserved(w) => {
                let w = w.clone();
                self.pos += 1;
                Some(w)
            }
            _ => None,
        }
    }

    fn value(&mut self) -> Option<String> {
        match self.next() {
            Some(Tok::Str(s)) | Some(Tok::Num(s)) => Some(s),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => {
                Some(w.to_ascii_lowercase())
            }
            _ => None,
        }
    }

    fn number(&mut self) -> Option<usize> {
        match self.next() {
            Some(Tok::Num(n)) => n.parse().ok(),
            _ => None,
        }
    }

    fn expr(&mut self) -> Result<Filter, String> {
        let mut terms = vec![self.term()?];
        let mut joins = Vec::new();
        loop {
            if self.keyword("and") {
                joins.push("and");
            } else if self.keyword("or") {
                joins.push("or");
            } else {
                break;
            }
            terms.push(self.term()?);
        }
        Ok(combine(terms, &joins))
    }

    fn term(&mut self) -> Result<Filter, String> {
        if self.sym("(") {
            let inner = self.expr()?;
            return if self.sym(")") { Ok(inner) } else { Err("expected )".into()) };
        }
        let field = self.ident().ok_or("expected a field name")?;
        let (op, values) = if self.sym("=") {
            (Op::Equals, vec![self.value().ok_or("expected a value after =")?])
        } else if self.sym("!=") {
            (Op::NotEqual, vec![self.value().ok_or("expected a value after !=")?])
        } else if self.keyword("like") {
            (Op::Like, vec![self.value().ok_or("expected a value after like")?])
        } else if self.keyword("is") {
            let not = self.keyword("not");
            if !self.keyword("null") {
                return Err("expected null after is".into());
            }
            (if not { Op::IsNotNull } else { Op::IsNull }, vec![])
        } else {
            let not = self.keyword("not");
            if !self.keyword("in") {
                return Err(format!("unsupported comparison after {field}"));
            }
            if !self.sym("(") {
                return Err("expected ( after in".into());
            }
            let mut values = vec![self.value().ok_or("expected a value in in (…)")?];
            while self.sym(",") {
                values.push(self.value().ok_or("expected a value in in (…)")?);
            }
            if !self.sym(")") {
                return Err("expected ) after the in values".into());
            }
            (if not { Op::NotEqual } else { Op::Equals }, values)
        };
        Ok(Filter::Cond { field, op, values })
    }
}

fn is_reserved(w: &str) -> bool {
    ["select", "from", "where", "and", "or", "limit", "offset", "like", "in", "not", "is", "null", "order", "by"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(w))
}

/// Parses the COQL subset: `select f1, f2 from Module [where …] [limit n [offset m] | limit m, n]`.
pub(crate) fn parse_coql(q: &str) -> Result<Query, QueryError> {
    let err = |clause: &'static str, reason: &str| QueryError { clause, reason: reason.to_string() };
    let toks = tokenize(q).map_err(|e| err("select", &e))?;
    let mut p = Parser { toks, pos: 0 };
    if !p.keyword("select") {
        return Err(err("select", "a query starts with select"));
    }
    let mut fields = vec![p.ident().ok_or_else(|| err("select", "expected a field name"))?];
    while p.sym(",") {
        fields.push(p.ident().ok_or_else(|| err("select", "expected a field name after ,"))?);
    }
    if !p.keyword("from") {
        return Err(err("from", "expected from after the fields"));
    }
    let module = p.ident().ok_or_else(|| err("from", "expected a module name"))?;
    let filter = if p.keyword("where") { Some(p.expr().map_err(|e| err("where", &e))?) } else { None };
    let (mut limit, mut offset) = (None, 0);
    if p.keyword("limit") {
        let first = p.number().ok_or_else(|| err("limit", "expected a number"))?;
        if p.sym(",") {
            offset = first;
            limit = Some(p.number().ok_or_else(|| err("limit", "expected a number after ,"))?);
        } else {
            limit = Some(first);
        }
    }
    if p.keyword("offset") {
        offset = p.number().ok_or_else(|| err("offset", "expected a number"))?;
    }
    if p.peek().is_some() {
        return Err(err("select", "unexpected text after the query"));
    }
    Ok(Query { fields, module, filter, limit, offset })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(field: &str, op: Op, values: &[&str]) -> Filter {
        Filter::Cond { field: field.into(), op, values: values.iter().map(|v| v.to_string()).collect() }
    }

    #[test]
    fn criteria_single_and_or_and_escapes() {
        assert_eq!(parse_criteria("(Last_Name:equals:Burns)").unwrap(), cond("Last_Name", Op::Equals, &["Burns"]));
        assert_eq!(
            parse_criteria("((Last_Name:equals:Burns)and(First_Name:starts_with:Ma))").unwrap(),
            Filter::And(vec![cond("Last_Name", Op::Equals, &["Burns"]), cond("First_Name", Op::StartsWith, &["Ma"])])
        );
        assert_eq!(
            parse_criteria("((A:equals:x) or (B:equals:y\\,z\\))) ").unwrap(),
            Filter::Or(vec![cond("A", Op::Equals, &["x"]), cond("B", Op::Equals, &["y,z)"])])
        );
        assert_eq!(
            parse_criteria("(Email:equals:a@x.com,b@x.com)").unwrap(),
            cond("Email", Op::Equals, &["a@x.com", "b@x.com"])
        );
        for bad in ["", "Last_Name:equals:x", "(Last_Name:x)", "(A:between:1)", "((A:equals:x)", "(A:equals:x)junk"] {
            assert!(parse_criteria(bad).is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn coql_subset() {
        let q = parse_coql("select Last_Name, Email from Leads where (Last_Name = 'O\\'Neil' or Email like '%@x.com') and Company != 'A' limit 5 offset 10").unwrap();
        assert_eq!(q.fields, vec!["Last_Name", "Email"]);
        assert_eq!(q.module, "Leads");
        assert_eq!((q.limit, q.offset), (Some(5), 10));
        let r = json!({"Last_Name": "O'Neil", "Email": "o@y.com", "Company": "B"});
        assert!(q.filter.as_ref().unwrap().matches(&r));
        let q = parse_coql("SELECT id FROM Leads LIMIT 2, 3").unwrap();
        assert_eq!((q.limit, q.offset, q.filter), (Some(3), 2, None));
        assert_eq!(parse_coql("select from Leads").unwrap_err().clause, "select");
        assert_eq!(parse_coql("select a Leads").unwrap_err().clause, "from");
        assert_eq!(parse_coql("select a from Leads where a ~ 1").unwrap_err().clause, "select");
        assert_eq!(parse_coql("select a from Leads where a = ").unwrap_err().clause, "where");
        assert!(parse_coql("select a from Leads where a in ('x', 'y') and b is not null").is_ok());
    }

    #[test]
    fn like_and_lookups() {
        assert!(like("record12@example.com", "record1%"));
        assert!(like("abc", "%b%"));
        assert!(!like("abc", "%d"));
        assert!(like("ABC", "abc"));
        let r = json!({"Owner": {"id": "42", "name": "x"}, "Empty": ""});
        assert_eq!(field_text(&r, "owner").as_deref(), Some("42"));
        assert!(cond("Empty", Op::IsNull, &[]).matches(&r));
    }
}
