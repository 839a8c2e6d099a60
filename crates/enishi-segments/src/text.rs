//! The text form of a rule, as a marketer types it:
//! `(bought(sku: "A") and not bought(sku: "B")) or orders >= 5`.
//!
//! `not` binds tightest, then `and`, then `or`; parentheses group. [`print`] writes a tree back
//! in one canonical way, so `parse(&print(tree)) == tree` for every tree [`parse`] can return.

use crate::tree::{Condition, Node, Op, Test, Value, MAX_DEPTH};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Words that are operators, not field names.
pub const KEYWORDS: [&str; 6] = ["and", "or", "not", "in", "true", "false"];

/// Longest window a rule may name, in days (about 100 years).
pub const MAX_DAYS: u32 = 36_600;

/// Text that is not a rule: where, what was expected there, and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: expected {expected}, found {found}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What would have been valid here.
    pub expected: String,
    /// What is there instead.
    pub found: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Text(String),
    Number(Decimal),
    Days(u32),
    Date(NaiveDate),
    Op(Op),
    LParen,
    RParen,
    Comma,
    Colon,
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Name(n) => format!("`{n}`"),
            Token::Text(t) => format!("the text {}", quote(t)),
            Token::Number(n) => format!("the number {n}"),
            Token::Days(d) => format!("`{d}d`"),
            Token::Date(d) => format!("the date {d}"),
            Token::Op(op) => format!("`{op}`"),
            Token::LParen => "`(`".into(),
            Token::RParen => "`)`".into(),
            Token::Comma => "`,`".into(),
            Token::Colon => "`:`".into(),
            Token::End => "the end of the rule".into(),
        }
    }
}

/// A token and where it starts.
struct Spanned {
    token: Token,
    line: usize,
    column: usize,
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, line: usize, column: usize, expected: &str, found: String) -> ParseError {
        ParseError { line, column, expected: expected.into(), found }
    }

    fn tokens(mut self) -> Result<Vec<Spanned>, ParseError> {
        let mut out = Vec::new();
        loop {
            while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
                self.bump();
            }
            let (line, column) = (self.line, self.column);
            let Some(&c) = self.chars.peek() else {
                out.push(Spanned { token: Token::End, line, column });
                return Ok(out);
            };
            let token = match c {
                '(' | ')' | ',' | ':' => {
                    self.bump();
                    match c {
                        '(' => Token::LParen,
                        ')' => Token::RParen,
                        ',' => Token::Comma,
                        _ => Token::Colon,
                    }
                }
                '=' | '!' | '<' | '>' => {
                    self.bump();
                    let mut op = c.to_string();
                    if self.chars.peek() == Some(&'=') {
                        self.bump();
                        op.push('=');
                    }
                    match Op::parse(&op) {
                        Some(op) => Token::Op(op),
                        None => {
                            return Err(self.error(
                                line,
                                column,
                                "an operator (=, !=, <, <=, >, >=)",
                                format!("`{op}`"),
                            ))
                        }
                    }
                }
                '"' => Token::Text(self.string(line, column)?),
                c if c.is_ascii_digit() || c == '-' => self.number(line, column)?,
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let mut name = String::new();
                    while let Some(&c) = self.chars.peek() {
                        let continues = c.is_ascii_alphanumeric() || c == '_' || (c == '.' && !name.ends_with('.'));
                        if !continues {
                            break;
                        }
                        name.push(c);
                        self.bump();
                    }
                    if name.ends_with('.') {
                        let found = self.found_here();
                        return Err(self.error(self.line, self.column, "a name after `.`", found));
                    }
                    Token::Name(name)
                }
                other => {
                    return Err(self.error(
                        line,
                        column,
                        "a condition, `(`, `)`, an operator or a value",
                        quote_char(other),
                    ));
                }
            };
            out.push(Spanned { token, line, column });
        }
    }

    fn found_here(&mut self) -> String {
        self.chars.peek().map_or_else(|| "the end of the rule".to_string(), |c| quote_char(*c))
    }

    fn string(&mut self, line: usize, column: usize) -> Result<String, ParseError> {
        self.bump();
        let mut s = String::new();
        loop {
            let (l, col) = (self.line, self.column);
            match self.bump() {
                None => return Err(self.error(line, column, "a closing `\"`", "the end of the rule".into())),
                Some('"') => return Ok(s),
                Some('\\') => match self.bump() {
                    Some('"') => s.push('"'),
                    Some('\\') => s.push('\\'),
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('u') => s.push(self.unicode_escape(l, col)?),
                    other => {
                        let found = other.map_or_else(|| "the end of the rule".to_string(), quote_char);
                        return Err(self.error(l, col, "an escape: \\\" \\\\ \\n \\t \\r or \\u{…}", found));
                    }
                },
                Some(c) => s.push(c),
            }
        }
    }

    fn unicode_escape(&mut self, line: usize, column: usize) -> Result<char, ParseError> {
        let expected = "a code point written \\u{hex}";
        if self.bump() != Some('{') {
            return Err(self.error(line, column, expected, "something else".into()));
        }
        let mut hex = String::new();
        while let Some(c) = self.bump() {
            if c == '}' {
                return u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| (1..=6).contains(&hex.len()))
                    .and_then(char::from_u32)
                    .ok_or_else(|| self.error(line, column, expected, format!("\\u{{{hex}}}")));
            }
            hex.push(c);
        }
        Err(self.error(line, column, expected, "the end of the rule".into()))
    }

    fn number(&mut self, line: usize, column: usize) -> Result<Token, ParseError> {
        let mut s = String::new();
        while let Some(&c) = self.chars.peek() {
            if !(c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                break;
            }
            s.push(c);
            self.bump();
        }
        if let Some(days) = s.strip_suffix('d') {
            if !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()) {
                return match days.parse::<u32>() {
                    Ok(n) if n <= MAX_DAYS => Ok(Token::Days(n)),
                    _ => Err(self.error(line, column, &format!("a window of at most {MAX_DAYS}d"), format!("`{s}`"))),
                };
            }
        }
        if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
            return NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map(Token::Date)
                .map_err(|_| self.error(line, column, "a date that exists (YYYY-MM-DD)", format!("`{s}`")));
        }
        parse_number(&s).map(Token::Number).ok_or_else(|| {
            self.error(
                line,
                column,
                "a number of at most 15 digits (12, -3, 100.50), a window (90d) or a date (2026-01-31)",
                format!("`{s}`"),
            )
        })
    }
}

/// Most significant digits a number in a rule may have: every such number survives the JSON
/// form exactly.
pub const MAX_DIGITS: usize = 15;

/// A plain decimal number (`12`, `-3`, `100.50`) of at most [`MAX_DIGITS`] significant
/// digits, if `s` is one.
pub fn parse_number(s: &str) -> Option<Decimal> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let significant = whole.trim_start_matches('0').len() + fraction.trim_end_matches('0').len();
    if !plain(whole) || !plain(fraction) || significant > MAX_DIGITS {
        return None;
    }
    s.parse::<Decimal>().ok()
}

fn quote_char(c: char) -> String {
    if c.is_control() {
        format!("the character U+{:04X}", c as u32)
    } else {
        format!("`{c}`")
    }
}

/// Reads a rule written in the text form.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let tokens = Lexer { chars: text.chars().peekable(), line: 1, column: 1 }.tokens()?;
    let mut p = Parser { tokens, at: 0, depth: 0 };
    let node = p.or()?;
    p.expect_end()?;
    Ok(node)
}

struct Parser {
    tokens: Vec<Spanned>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].token
    }

    fn next(&mut self) -> Token {
        let t = self.tokens[self.at].token.clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn error(&self, expected: &str) -> ParseError {
        let here = &self.tokens[self.at];
        ParseError { line: here.line, column: here.column, expected: expected.into(), found: here.token.describe() }
    }

    fn expect_end(&self) -> Result<(), ParseError> {
        match self.peek() {
            Token::End => Ok(()),
            _ => Err(self.error("`and`, `or` or the end of the rule")),
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Name(n) if n == word)
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, ParseError>) -> Result<T, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(&format!("rules nested at most {MAX_DEPTH} deep")));
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }

    fn or(&mut self) -> Result<Node, ParseError> {
        let mut children = vec![self.and()?];
        while self.is_word("or") {
            self.next();
            children.push(self.and()?);
        }
        Ok(if children.len() == 1 { children.remove(0) } else { Node::Or(children) })
    }

    fn and(&mut self) -> Result<Node, ParseError> {
        let mut children = vec![self.unary()?];
        while self.is_word("and") {
            self.next();
            children.push(self.unary()?);
        }
        Ok(if children.len() == 1 { children.remove(0) } else { Node::And(children) })
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        if self.is_word("not") {
            self.next();
            return self.nested(|p| Ok(Node::Not(Box::new(p.unary()?))));
        }
        if *self.peek() == Token::LParen {
            self.next();
            let inner = self.nested(Parser::or)?;
            if *self.peek() != Token::RParen {
                return Err(self.error("`)`, `and` or `or`"));
            }
            self.next();
            return Ok(inner);
        }
        self.condition()
    }

    fn condition(&mut self) -> Result<Node, ParseError> {
        let field = match self.peek() {
            Token::Name(n) if !KEYWORDS.contains(&n.as_str()) => n.clone(),
            _ => return Err(self.error("a condition, `not` or `(`")),
        };
        self.next();
        let mut args = BTreeMap::new();
        if *self.peek() == Token::LParen {
            self.next();
            loop {
                let name = match self.peek() {
                    Token::Name(n) if !KEYWORDS.contains(&n.as_str()) => n.clone(),
                    Token::RParen if args.is_empty() => {
                        self.next();
                        break;
                    }
                    _ => return Err(self.error("an argument name (such as `sku` or `within`)")),
                };
                if args.contains_key(&name) {
                    return Err(self.error("each argument once"));
                }
                self.next();
                if *self.peek() != Token::Colon {
                    return Err(self.error(&format!("`:` after `{name}`")));
                }
                self.next();
                let value = self.value()?;
                args.insert(name, value);
                match self.next() {
                    Token::Comma => continue,
                    Token::RParen => break,
                    _ => {
                        self.at -= 1;
                        return Err(self.error("`,` or `)`"));
                    }
                }
            }
        }
        let test = match self.peek().clone() {
            Token::Op(op) => {
                self.next();
                Some(Test::Compare(op, self.value()?))
            }
            Token::Name(n) if n == "in" => {
                self.next();
                if *self.peek() != Token::LParen {
                    return Err(self.error("`(` and a list of values after `in`"));
                }
                self.next();
                let mut values = vec![self.value()?];
                loop {
                    match self.next() {
                        Token::Comma => values.push(self.value()?),
                        Token::RParen => break,
                        _ => {
                            self.at -= 1;
                            return Err(self.error("`,` or `)`"));
                        }
                    }
                }
                Some(Test::In(values))
            }
            _ => None,
        };
        Ok(Node::Condition(Condition { field, args, test }))
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        let v = match self.peek() {
            Token::Text(s) => Value::Text(s.clone()),
            Token::Number(n) => Value::Number(*n),
            Token::Days(d) => Value::Days(*d),
            Token::Date(d) => Value::Date(*d),
            Token::Name(n) if n == "true" => Value::Bool(true),
            Token::Name(n) if n == "false" => Value::Bool(false),
            _ => {
                return Err(
                    self.error("a value: \"text\", a number, a window (90d), a date (2026-01-31), true or false")
                )
            }
        };
        self.next();
        Ok(v)
    }
}

/// Writes `node` in the canonical text form.
pub fn print(node: &Node) -> String {
    let mut out = String::new();
    write_node(node, &mut out);
    out
}

fn write_node(node: &Node, out: &mut String) {
    match node {
        Node::And(children) | Node::Or(children) => {
            let joiner = if matches!(node, Node::And(_)) { " and " } else { " or " };
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    out.push_str(joiner);
                }
                write_operand(child, out);
            }
        }
        Node::Not(child) => {
            out.push_str("not ");
            write_operand(child, out);
        }
        Node::Condition(c) => write_condition(c, out),
    }
}

/// A child of `and`, `or` or `not`: a group inside another is always parenthesised.
fn write_operand(node: &Node, out: &mut String) {
    if matches!(node, Node::And(_) | Node::Or(_)) {
        out.push('(');
        write_node(node, out);
        out.push(')');
    } else {
        write_node(node, out);
    }
}

fn write_condition(c: &Condition, out: &mut String) {
    out.push_str(&c.field);
    if !c.args.is_empty() {
        out.push('(');
        for (i, (name, value)) in c.args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{name}: ");
            write_value(value, out);
        }
        out.push(')');
    }
    match &c.test {
        Some(Test::Compare(op, v)) => {
            let _ = write!(out, " {op} ");
            write_value(v, out);
        }
        Some(Test::In(values)) => {
            out.push_str(" in (");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(v, out);
            }
            out.push(')');
        }
        None => {}
    }
}

/// A value as the text form writes it.
pub fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Text(s) => out.push_str(&quote(s)),
        Value::Number(d) => {
            let _ = write!(out, "{}", d.normalize());
        }
        Value::Days(n) => {
            let _ = write!(out, "{n}d");
        }
        Value::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
    }
}

/// Text in double quotes with `"`, `\` and control characters escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(field: &str) -> Node {
        Node::Condition(Condition { field: field.into(), args: BTreeMap::new(), test: None })
    }

    #[test]
    fn the_issue_examples_parse_with_their_meaning() {
        let n = parse(r#"(bought(sku: "A") and not bought(sku: "B")) or orders >= 5"#).unwrap();
        let Node::Or(children) = &n else { panic!("{n:?}") };
        assert_eq!(children.len(), 2);
        let Node::And(inner) = &children[0] else { panic!() };
        assert!(matches!(&inner[1], Node::Not(_)));
        let Node::Condition(c) = &children[1] else { panic!() };
        assert_eq!(c.test, Some(Test::Compare(Op::Ge, Value::Number(5.into()))));
        for text in [
            r#"bought(category: "coffee", within: 90d)"#,
            r#"spend(within: 365d) >= 100.00"#,
            r#"rfm.segment in ("Champions", "Loyal")"#,
            "consent.email",
            "days_since_last_order > 180",
        ] {
            let tree = parse(text).unwrap();
            assert_eq!(parse(&print(&tree)).unwrap(), tree, "{text}");
        }
        assert_eq!(print(&parse("spend(within: 365d) >= 100.00").unwrap()), "spend(within: 365d) >= 100");
    }

    #[test]
    fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
        let n = parse("a or not b and c").unwrap();
        assert_eq!(n, Node::Or(vec![cond("a"), Node::And(vec![Node::Not(Box::new(cond("b"))), cond("c")])]));
        assert_eq!(print(&n), "a or (not b and c)");
    }

    #[test]
    fn errors_name_the_line_the_column_and_what_was_expected() {
        let e = parse("orders >=\n  and tag").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3), "{e}");
        assert!(e.expected.contains("a value"), "{e}");
        let e = parse("bought(sku \"A\")").unwrap_err();
        assert_eq!((e.line, e.column, e.found.as_str()), (1, 12, "the text \"A\""), "{e}");
        assert!(parse("(a and b").unwrap_err().expected.contains("`)`"));
        assert!(parse("a b").unwrap_err().expected.contains("`and`"));
        assert!(parse("\"never closed").unwrap_err().expected.contains("closing"));
        assert!(parse("a = 2026-02-30").unwrap_err().expected.contains("date that exists"));
        assert!(parse("a(within: 99999999d)").is_err());
        assert!(parse("a(x: 1, x: 2)").unwrap_err().expected.contains("once"));
        assert!(parse("").unwrap_err().found.contains("end"));
        assert!(parse(&"not ".repeat(200)).unwrap_err().expected.contains("nested"));
        assert!(parse(&format!("{}a{}", "(".repeat(200), ")".repeat(200))).is_err());
    }

    #[test]
    fn text_round_trips_through_escapes() {
        let tree = parse(r#"name = "say \"hi\"\\ \n \u{7}""#).unwrap();
        let Node::Condition(c) = &tree else { panic!() };
        assert_eq!(c.test, Some(Test::Compare(Op::Eq, Value::Text("say \"hi\"\\ \n \u{7}".into()))));
        assert_eq!(parse(&print(&tree)).unwrap(), tree);
    }
}
