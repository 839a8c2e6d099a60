//! Reading the files shops really have: which of the file's columns feed which of Enishi's
//! fields (a [`Mapping`], from a mapping file or the console's mapping screen), guessed from
//! common English and Japanese headers, and the file's encoding.

use crate::text::Encoding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Orders (the generic CSV).
    Orders,
    /// Customer profiles.
    Customers,
    /// The product catalogue.
    Products,
}

impl ImportKind {
    /// The kind's name (`orders`, `customers`, `products`).
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Orders => "orders",
            ImportKind::Customers => "customers",
            ImportKind::Products => "products",
        }
    }

    /// Enishi's fields for this kind, in the order a person reads them, with whether each
    /// is required. Customer files also take consent and `attr.` columns by their own names.
    pub fn fields(self) -> Vec<(&'static str, bool)> {
        match self {
            ImportKind::Orders => crate::formats::GENERIC_REQUIRED
                .iter()
                .map(|f| (*f, true))
                .chain(crate::formats::GENERIC_OPTIONAL.iter().map(|f| (*f, false)))
                .collect(),
            ImportKind::Customers => {
                crate::customers::PROFILE_COLUMNS.iter().map(|f| (*f, *f == "external_id")).collect()
            }
            ImportKind::Products => crate::products::PRODUCT_COLUMNS.iter().map(|f| (*f, *f == "sku")).collect(),
        }
    }
}

/// Which of a file's columns feed which of Enishi's fields: file header → field. A header
/// mapped to `""` is ignored; a header not listed is read under its own name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Mapping(pub BTreeMap<String, String>);

impl Mapping {
    /// The field `header` feeds: `None` when it is ignored.
    pub fn field<'a>(&'a self, header: &'a str) -> Option<&'a str> {
        match self.0.get(header.trim()) {
            Some(f) if f.trim().is_empty() => None,
            Some(f) => Some(f.trim()),
            None => Some(header.trim()),
        }
    }

    /// Whether no header is mapped.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a mapping file: JSON (`{"注文番号": "order_id", …}`) when it starts with `{`,
    /// otherwise TOML-like lines `"注文番号" = "order_id"` (comments with `#`, an optional
    /// `[columns]` table header).
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        if text.trim_start().starts_with('{') {
            let map: BTreeMap<String, String> =
                serde_json::from_str(text).map_err(|e| format!("the mapping is not a JSON object of texts: {e}"))?;
            return Ok(Mapping(map.into_iter().map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()));
        }
        let mut map = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line == "[columns]" {
                continue;
            }
            let bad = || format!("mapping line {}: expected \"file header\" = \"field\"", i + 1);
            let (key, value) = line.split_once('=').ok_or_else(bad)?;
            let key = toml_string(key.trim()).ok_or_else(bad)?;
            let value = toml_string(value.trim()).ok_or_else(bad)?;
            if map.insert(key.trim().to_string(), value.trim().to_string()).is_some() {
                return Err(format!("mapping line {}: '{key}' is mapped twice", i + 1));
            }
        }
        Ok(Mapping(map))
    }
}

/// A TOML key or value: a bare key, a "basic string" (with `\"` and `\\` escapes) or a
/// 'literal string', followed by nothing but a comment.
fn toml_string(t: &str) -> Option<String> {
    let mut chars = t.chars();
    let quote = chars.next()?;
    if quote != '"' && quote != '\'' {
        let bare = t.split('#').next().unwrap_or("").trim();
        let ok =
            !bare.is_empty() && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        return ok.then(|| bare.to_string());
    }
    let mut out = String::new();
    loop {
        let c = chars.next()?;
        if c == quote {
            break;
        }
        if c == '\\' && quote == '"' {
            match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            }
        } else {
            out.push(c);
        }
    }
    let rest = chars.as_str().trim();
    (rest.is_empty() || rest.starts_with('#')).then_some(out)
}

/// How to read a CSV file: its encoding and how its headers map to Enishi's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// The file's encoding (detected by default).
    pub encoding: Encoding,
    /// The file's headers → Enishi's fields (empty: the headers are Enishi's names).
    pub mapping: Mapping,
}

/// Headers people write for each field, in English and Japanese, compared after
/// [`normalise`].
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "order_id",
        &[
            "注文番号",
            "注文id",
            "注文no",
            "受注番号",
            "受注id",
            "伝票番号",
            "取引番号",
            "レシート番号",
            "ordernumber",
            "orderno",
            "order",
            "name",
        ],
    ),
    (
        "customer_id",
        &[
            "顧客id",
            "顧客番号",
            "顧客コード",
            "会員id",
            "会員番号",
            "お客様番号",
            "customer",
            "customernumber",
            "customercode",
            "memberid",
        ],
    ),
    (
        "external_id",
        &[
            "顧客id",
            "顧客番号",
            "顧客コード",
            "会員id",
            "会員番号",
            "お客様番号",
            "customerid",
            "customernumber",
            "customercode",
            "memberid",
            "id",
        ],
    ),
    (
        "placed_at",
        &[
            "購入日時",
            "注文日時",
            "受注日時",
            "購入日",
            "注文日",
            "受注日",
            "売上日",
            "売上日時",
            "取引日時",
            "日時",
            "日付",
            "orderdate",
            "date",
            "createdat",
            "purchasedat",
        ],
    ),
    ("sku", &["商品コード", "商品番号", "品番", "janコード", "jan", "商品id", "productcode", "itemcode", "productid"]),
    ("quantity", &["数量", "個数", "購入数", "qty"]),
    ("unit_price", &["単価", "販売単価", "価格", "price", "unitprice"]),
    ("line_amount", &["金額", "小計", "明細金額", "売上金額", "amount", "linetotal", "subtotal"]),
    ("order_total", &["合計金額", "注文合計", "合計", "総額", "ordertotal", "total"]),
    ("currency", &["通貨", "通貨コード"]),
    ("channel", &["販売チャネル", "チャネル", "販路"]),
    ("category", &["カテゴリ", "カテゴリー", "商品カテゴリ", "分類", "商品分類"]),
    ("product_name", &["商品名", "品名", "productname", "itemname", "product"]),
    ("status", &["ステータス", "状態", "注文ステータス"]),
    ("return_of", &["返品元注文番号", "元注文番号"]),
    ("name", &["氏名", "名前", "お名前", "顧客名", "会員名", "fullname", "customername"]),
    ("email", &["メールアドレス", "メール", "eメール", "emailaddress", "mail"]),
    ("phone", &["電話番号", "電話", "携帯電話番号", "携帯番号", "tel", "phonenumber", "mobile"]),
    ("postal_code", &["郵便番号", "〒", "zip", "zipcode", "postcode"]),
    ("region", &["都道府県", "prefecture", "state", "province"]),
    ("city", &["市区町村", "city"]),
    ("address_line1", &["住所", "住所1", "番地", "address", "address1"]),
    ("address_line2", &["住所2", "建物名", "address2"]),
    ("country", &["国", "国名"]),
    ("birthday", &["誕生日", "生年月日", "birthdate", "dateofbirth"]),
    ("tags", &["タグ"]),
    ("locale", &["言語"]),
    ("first_seen_at", &["登録日", "登録日時", "入会日", "signupdate"]),
    ("price", &["価格", "販売価格", "単価", "定価", "unitprice"]),
];

/// Headers of a product's name in a product file (a customer file's `name` is a person's).
const PRODUCT_NAMES: &[&str] = &["商品名", "品名", "productname", "itemname", "product"];

/// A header as compared with the synonyms: full-width letters and digits made half-width,
/// lower case, without spaces, underscores, hyphens, dots or brackets.
fn normalise(header: &str) -> String {
    header
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.' | '(' | ')' | '（' | '）' | '・'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Guesses the mapping of `headers` for `kind`: a header that is one of Enishi's names is
/// read as it is; one that reads as a field's usual name (注文番号, 顧客ID, 購入日時,
/// 商品コード, 数量, 単価, 金額, 氏名, メールアドレス, 電話番号, Order Date …) maps to it; any
/// other is ignored. Each field is taken by its first header at most.
pub fn guess(kind: ImportKind, headers: &[String]) -> Mapping {
    let fields: Vec<&str> = kind.fields().into_iter().map(|(f, _)| f).collect();
    let mut taken: Vec<&str> = Vec::new();
    let mut map = BTreeMap::new();
    // Exact names first, so that a synonym never takes a field the file names itself.
    for h in headers {
        if let Some(f) = fields.iter().find(|f| **f == h.trim()) {
            taken.push(f);
        }
    }
    for h in headers {
        let h = h.trim();
        if fields.contains(&h) || takes_own_name(kind, h) {
            continue;
        }
        let n = normalise(h);
        let product_name = kind == ImportKind::Products && PRODUCT_NAMES.contains(&n.as_str());
        let found = fields.iter().copied().find(|f| {
            !taken.contains(f)
                && (normalise(f) == n
                    || (product_name && *f == "name")
                    || SYNONYMS.iter().any(|(s, names)| s == f && names.contains(&n.as_str())))
        });
        match found {
            Some(f) => {
                taken.push(f);
                map.insert(h.to_string(), f.to_string());
            }
            None => {
                map.insert(h.to_string(), String::new());
            }
        }
    }
    Mapping(map)
}

/// Whether `kind` takes the column `h` by its own name besides its [fields](ImportKind::fields):
/// a customer file's consent and `attr.` columns.
pub fn takes_own_name(kind: ImportKind, h: &str) -> bool {
    kind == ImportKind::Customers
        && (h.starts_with(crate::customers::ATTRIBUTE_PREFIX)
            || crate::customers::consent_columns().iter().any(|c| c == h))
}

/// Whether `headers` need no mapping: every one is a name `kind` knows.
pub fn headers_are_enishis(kind: ImportKind, headers: &[String]) -> bool {
    let fields = kind.fields();
    headers.iter().all(|h| {
        let h = h.trim();
        fields.iter().any(|(f, _)| *f == h) || takes_own_name(kind, h)
    })
}

/// The header and the first rows of a CSV file, for a mapping screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The encoding the file was read in.
    pub encoding: Encoding,
    /// The header row's cells.
    pub headers: Vec<String>,
    /// Up to `rows` data rows, as text (cells that are not text are shown as empty).
    pub rows: Vec<Vec<String>>,
}

/// Reads the header and the first `rows` rows of a CSV file in `encoding`.
pub fn preview(input: impl std::io::Read, encoding: Encoding, rows: usize) -> Result<Preview, crate::ImportError> {
    let (text, state) = crate::text::Text::new(input, encoding);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text);
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut headers = None;
    while out.len() < rows {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
                if cells.iter().all(String::is_empty) {
                    continue;
                }
                if headers.is_none() {
                    headers = Some(cells);
                } else {
                    out.push(cells);
                }
            }
            Err(e) => {
                let reason = format!("unreadable CSV: {e}");
                let line = e.position().map_or(1, |p| state.lock().map_or(1, |mut s| s.line_at(p.byte())));
                return Err(crate::ImportError::File(crate::Rejection::line(line, reason)));
            }
        }
    }
    let Some(headers) = headers else {
        return Err(crate::ImportError::File(crate::Rejection::line(1, "the file is empty (expected a header row)")));
    };
    let encoding = state.lock().map(|s| s.encoding).unwrap_or_default();
    Ok(Preview { encoding, headers, rows: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn japanese_headers_are_guessed() {
        let h = headers(&["注文番号", "顧客ID", "購入日時", "商品コード", "数量", "単価", "金額", "店舗名"]);
        let m = guess(ImportKind::Orders, &h);
        let want = [
            ("注文番号", "order_id"),
            ("顧客ID", "customer_id"),
            ("購入日時", "placed_at"),
            ("商品コード", "sku"),
            ("数量", "quantity"),
            ("単価", "unit_price"),
            ("金額", "line_amount"),
            ("店舗名", ""),
        ];
        for (header, field) in want {
            assert_eq!(m.0.get(header).map(String::as_str), Some(field), "{header}");
        }
        assert_eq!(m.field("店舗名"), None, "ignored");
        let c = guess(
            ImportKind::Customers,
            &headers(&["顧客ＩＤ", "氏名", "メールアドレス", "電話番号", "email_consent"]),
        );
        assert_eq!(c.field("顧客ＩＤ"), Some("external_id"), "full-width letters");
        assert_eq!(c.field("氏名"), Some("name"));
        assert_eq!(c.field("メールアドレス"), Some("email"));
        assert_eq!(c.field("電話番号"), Some("phone"));
        assert_eq!(c.field("email_consent"), Some("email_consent"), "consent columns keep their names");
        assert_eq!(guess(ImportKind::Customers, &headers(&["商品名"])).field("商品名"), None, "not a person's name");
        let p = guess(ImportKind::Products, &headers(&["商品コード", "商品名", "価格"]));
        assert_eq!(
            (p.field("商品コード"), p.field("商品名"), p.field("価格")),
            (Some("sku"), Some("name"), Some("price"))
        );
        assert!(headers_are_enishis(ImportKind::Orders, &headers(&["order_id", "sku"])));
        assert!(!headers_are_enishis(ImportKind::Orders, &h));
    }

    #[test]
    fn mapping_files_read_as_toml_or_json() {
        let toml = "# POS export\n[columns]\n\"注文番号\" = \"order_id\"  # the receipt\n'店舗名' = \"\"\nqty = \"quantity\"\n";
        let m = Mapping::parse(toml).unwrap();
        assert_eq!(m.field("注文番号"), Some("order_id"));
        assert_eq!(m.field("店舗名"), None);
        assert_eq!(m.field("qty"), Some("quantity"));
        assert_eq!(m.field("sku"), Some("sku"), "unlisted headers keep their names");
        assert_eq!(
            Mapping::parse(r#"{"注文番号": "order_id", "店舗名": ""}"#).unwrap().field("注文番号"),
            Some("order_id")
        );
        assert!(Mapping::parse("注文番号 order_id").unwrap_err().contains("line 1"));
        assert!(Mapping::parse("a = \"x\"\na = \"y\"").unwrap_err().contains("twice"));
        assert!(Mapping::parse("[1, 2]").is_err());
    }
}
