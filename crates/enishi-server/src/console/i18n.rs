//! The console's two languages. Every string a page shows is written in English in the code
//! and looked up here for Japanese; a test reads the sources and fails on any string without
//! a translation, or any translation nothing uses.

use enishi_core::Language;
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;

/// Translates the console's strings into one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tr(pub Language);

fn japanese() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| JA.iter().copied().collect())
}

/// The table by lower-case key, for words whose case varies ("Lost", "lost").
fn japanese_words() -> &'static HashMap<String, &'static str> {
    static TABLE: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| JA.iter().map(|(en, ja)| (en.to_lowercase(), *ja)).collect())
}

impl Tr {
    /// The language.
    pub(crate) fn lang(self) -> Language {
        self.0
    }

    /// A fixed string in this language (the English text when a translation is missing,
    /// which the tests forbid).
    pub(crate) fn t(self, en: &'static str) -> &'static str {
        match self.0 {
            Language::En => en,
            Language::Ja => japanese().get(en).copied().unwrap_or(en),
        }
    }

    /// A string with values: `{}` takes the next value, `{N}` the N-th (translations may
    /// reorder them).
    pub(crate) fn f(self, en: &'static str, args: &[&dyn Display]) -> String {
        fill(self.t(en), args)
    }

    /// A count with its noun: `one` (`"{} row"`) for 1 in English, `other` (`"{} rows"`) for
    /// any other number; both are translated (Japanese has no plural, so alike).
    pub(crate) fn plural(self, one: &'static str, other: &'static str, n: u64) -> String {
        self.f(if n == 1 { one } else { other }, &[&n])
    }

    /// A word of a closed vocabulary known only at run time (a lifecycle stage, an RFM
    /// segment, a role, a consent status …), given in English with spaces.
    pub(crate) fn word(self, en: &str) -> String {
        let en = en.replace('_', " ");
        match self.0 {
            Language::En => en,
            Language::Ja => japanese_words().get(&en.to_lowercase()).map_or(en, |s| (*s).to_string()),
        }
    }
}

impl Tr {
    /// A message from the engine (a validation error, a rejected row's reason), in this
    /// language. Messages are matched against the templates of [`MESSAGES`] (`{}` stands for
    /// any text); a leading field path (`earning.minimum_order: …`) is kept as it is. A message
    /// no template knows is shown as it came.
    pub(crate) fn message(self, en: &str) -> String {
        if self.0 == Language::En {
            return en.to_string();
        }
        if let Some(ja) = translate_message(en) {
            return ja;
        }
        match en.split_once(": ") {
            Some((field, rest)) if !field.is_empty() && !field.contains(' ') => {
                format!("{field}: {}", self.message(rest))
            }
            _ => en.to_string(),
        }
    }
}

/// The Japanese of `en` if a template of [`MESSAGES`] matches all of it.
fn translate_message(en: &str) -> Option<String> {
    // Each template split at its `{}` once, not on every message.
    static SPLIT: OnceLock<Vec<(Vec<&'static str>, &'static str)>> = OnceLock::new();
    let templates = SPLIT.get_or_init(|| MESSAGES.iter().map(|(t, ja)| (t.split("{}").collect(), *ja)).collect());
    templates.iter().find_map(|(parts, ja)| {
        let mut rest = en.strip_prefix(parts[0])?;
        let mut captured: Vec<&str> = Vec::new();
        for (i, literal) in parts.iter().enumerate().skip(1) {
            let at = if i + 1 == parts.len() {
                // Check the boundary before slicing: messages carry the user's text.
                rest.len()
                    .checked_sub(literal.len())
                    .filter(|&at| rest.is_char_boundary(at) && rest[at..] == **literal)?
            } else {
                rest.find(literal)?
            };
            captured.push(&rest[..at]);
            rest = &rest[at + literal.len()..];
        }
        if !rest.is_empty() {
            return None;
        }
        let args: Vec<&dyn Display> = captured.iter().map(|c| c as &dyn Display).collect();
        Some(fill(ja, &args))
    })
}

fn fill(template: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut next = 0;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_digit()) => {
                let index = if close == 0 {
                    next += 1;
                    next - 1
                } else {
                    after[..close].parse().unwrap_or(usize::MAX)
                };
                if let Some(a) = args.get(index) {
                    out.push_str(&a.to_string());
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The engine's messages: English template (`{}` is any text) → Japanese (`{N}` is the N-th
/// text). Longer, more specific templates come before shorter ones that would also match.
const MESSAGES: &[(&str, &str)] = &[
    ("unknown field `{}` — did you mean `{}`? (docs/segments.md lists the fields: {})", "不明な項目 `{0}` — `{1}` のことですか？（項目の一覧は docs/segments.md: {2}）"),
    ("unknown field `{}` (docs/segments.md lists the fields: {})", "不明な項目 `{0}`（項目の一覧は docs/segments.md: {1}）"),
    ("there is no segment named \"{}\"", "「{0}」という名前のセグメントはありません"),
    ("there is no list named \"{}\"", "「{0}」という名前のリストはありません"),
    ("the {} uses '{}', which is not a merge field (docs/campaigns.md lists them: {})", "{0} で使われている '{1}' は差し込み項目ではありません（一覧は docs/campaigns.md: {2}）"),
    ("the shares add up to {}, not 100", "配分の合計が {0} です（100 にしてください）"),
    ("there is no customer with id {}", "顧客 ID が {0} のお客様はいません"),
    ("there is no template named \"{}\"", "「{0}」という名前のテンプレートはありません"),
    ("segments refer to each other in a cycle: {}", "セグメントが互いを循環して参照しています: {0}"),
    ("`{}` needs a comparison such as `{} >= 3`", "`{0}` には `{1} >= 3` のような比較が必要です"),
    ("`{}` is compared with a number, not {}", "`{0}` は数値と比較します（{1} ではなく）"),
    ("'{}' is not an IANA time zone (such as Asia/Tokyo)", "'{0}' は IANA のタイムゾーン名ではありません（例: Asia/Tokyo）"),
    ("'{}' does not exist in time zone {}", "'{0}' はタイムゾーン {1} には存在しない時刻です"),
    ("'{}' has more than {} decimal places", "'{0}' は小数点以下が{1}桁を超えています"),
    ("'{}' is not an ISO 4217 currency code (for example JPY, USD or EUR)", "'{0}' は ISO 4217 の通貨コードではありません（例: JPY、USD、EUR）"),
    ("'{}' is not a currency code (expected three letters like USD or JPY)", "'{0}' は通貨コードではありません（USD や JPY のような3文字）"),
    ("'{}' is not a date or time (expected e.g. 2026-11-20T18:05:00+09:00, 2026-11-20 18:05, 2026-11-20 or 20261120)", "'{0}' は日付・時刻ではありません（例: 2026-11-20T18:05:00+09:00、2026-11-20 18:05、2026-11-20、20261120）"),
    ("'{}' is not a date (expected YYYY-MM-DD)", "'{0}' は日付ではありません（YYYY-MM-DD 形式）"),
    ("'{}' is not a YYYYMMDD date", "'{0}' は YYYYMMDD 形式の日付ではありません"),
    ("'{}' is not a phone number (5 to 20 digits)", "'{0}' は電話番号ではありません（5〜20桁）"),
    ("'{}' is not a phone number", "'{0}' は電話番号ではありません"),
    ("'{}' is not an amount (expected a decimal like 57.40)", "'{0}' は金額ではありません（57.40 のような小数）"),
    ("'{}' is not an email address", "'{0}' はメールアドレスではありません"),
    ("'{}' is too large an amount", "'{0}' は金額として大きすぎます"),
    ("'{}' is not a whole number", "'{0}' は整数ではありません"),
    ("'{}' is negative (a unit price must be zero or more; returns use a negative quantity)", "'{0}' は負の値です（単価は0以上。返品は負の数量で表します）"),
    ("'{}' is not one of: {}", "'{0}' は次のいずれでもありません: {1}"),
    ("id '{}' contains control characters", "ID '{0}' に制御文字が含まれています"),
    ("an id is empty", "ID が空です"),
    ("is empty", "空です"),
    ("is not UTF-8 text", "UTF-8 のテキストではありません"),
    ("is not Shift_JIS (CP932) text", "Shift_JIS（CP932）のテキストではありません"),
    ("is neither UTF-8 nor Shift_JIS (CP932) text", "UTF-8 でも Shift_JIS（CP932）でもないテキストです"),
    ("is negative", "負の値です"),
    ("is 0: leave the line out (a free item has unit_price 0)", "0 です。この行を除いてください（無料の商品は unit_price を 0 にします）"),
    ("is 0: leave the line out", "0 です。この行を除いてください"),
    ("has the opposite sign of quantity", "数量と符号が逆です"),
    ("the file has no rows", "ファイルに行がありません"),
    ("the file is empty (expected a header row)", "ファイルが空です（見出し行が必要です）"),
    ("no customer id: row not imported", "顧客IDがないため取り込みません"),
    ("column appears twice", "列が重複しています"),
    ("missing required column '{}'", "必須の列 '{0}' がありません"),
    ("unknown column '{}' (known columns: {})", "不明な列 '{0}'（使える列: {1}）"),
    ("header column {} is not UTF-8 text", "見出しの{0}列目が UTF-8 のテキストではありません"),
    ("has {} columns; CDNOW files have 4 (master) or 5 (sample)", "{0}列あります。CDNOW のファイルは4列（master）か5列（sample）です"),
    ("has {} columns, earlier lines have {}", "{0}列あります。前の行は{1}列です"),
    ("has {} fields but the header has {}", "{0}項目ありますが、見出しは{1}項目です"),
    ("cannot read: {}", "読み込めません: {0}"),
    ("unreadable CSV: {}", "CSV を読み取れません: {0}"),
    ("invalid order JSON: {}", "注文の JSON が不正です: {0}"),
    ("an order needs at least one line", "注文には少なくとも1行が必要です"),
    ("a cancellation (invoice starting with C) needs a negative quantity", "取消（C で始まる請求書番号）には負の数量が必要です"),
    ("another line of order {} was rejected (line {})", "注文 {0} の別の行が除外されました（{1}行目）"),
    ("another line of order {} was rejected", "注文 {0} の別の行が除外されました"),
    ("order {} appeared earlier in the file: the lines of one order must be consecutive", "注文 {0} はファイルの前の方にもあります。1つの注文の行は連続していなければなりません"),
    ("order {} mixes sales and returns (negative quantities); send the return under its own id with return_of", "注文 {0} に販売と返品（負の数量）が混在しています。返品は別のIDで return_of を付けて送ってください"),
    ("order {}: line {} has a different {} than line {}", "注文 {0}: {1}行目の {2} が{3}行目と異なります"),
    ("order {}: return_of is set but the quantities are not negative", "注文 {0}: return_of がありますが数量が負ではありません"),
    ("return_of: no order '{}' (the original order must be imported first)", "return_of: 注文 '{0}' がありません（元の注文を先に取り込んでください）"),
    ("return_of: order {} belongs to another customer", "return_of: 注文 {0} は別の顧客のものです"),
    ("return_of: the return is dated before order {} was placed", "return_of: 返品の日付が注文 {0} より前です"),
    ("not enough points: {} available, {} needed", "ポイントが足りません: 利用可能 {0}、必要 {1}"),
    ("the customer owes {} points (a return took back points already spent); redemption is blocked until they are earned back", "この顧客には{0}ポイントの不足があります（使用済みのポイントが返品で取り消されました）。取り戻すまで交換できません"),
    ("no loyalty programme has been applied (PUT /api/v1/loyalty/program or `enishi loyalty apply`)", "ロイヤルティプログラムがまだ適用されていません（PUT /api/v1/loyalty/program または `enishi loyalty apply`）"),
    ("must be 1 to 200 characters", "1〜200文字にしてください"),
    ("must be non-zero and at most 10,000,000 either way", "0以外で、絶対値10,000,000以下にしてください"),
    ("an adjustment needs a reason", "調整には理由が必要です"),
    ("'{}' can be redeemed {} time(s) per customer", "'{0}' は1人あたり{1}回まで交換できます"),
    ("'{}' is for paid members only", "'{0}' は有料会員限定です"),
    ("'{}' is not in the catalogue", "'{0}' は特典カタログにありません"),
    ("'{}' is not in the rewards catalogue", "'{0}' は特典カタログにありません"),
    ("'{}' is no longer offered", "'{0}' はもう提供されていません"),
    ("this reward is only given, not redeemed", "この特典は付与専用で、交換はできません"),
    ("'{}' is used twice", "'{0}' が2回使われています"),
    ("'{}' is not a tier", "'{0}' はランクではありません"),
    ("a percentage must be at most 100", "割合は100以下にしてください"),
    ("is required for a free item", "無料商品には必要です"),
    ("is required for this kind", "この種類には必要です"),
    ("must be after starts", "starts より後にしてください"),
    ("is required (or give repeat for a recurring promotion)", "必須です（毎週のキャンペーンなら repeat を指定してください）"),
    ("needs at least one weekday (mon, tue, wed, thu, fri, sat, sun)", "曜日が少なくとも1つ必要です（mon, tue, wed, thu, fri, sat, sun）"),
    ("'{}' is listed twice", "'{0}' が2回指定されています"),
    ("'{}' is not a time of day HH:MM (such as 14:00)", "'{0}' は HH:MM 形式の時刻ではありません（例: 14:00）"),
    ("'{}' is not a time of day (00:00 to {})", "'{0}' は時刻ではありません（00:00〜{1}）"),
    ("must differ from from (an earlier time ends the next day; a whole day is 00:00 until 24:00)", "from と違う時刻にしてください（from より前の時刻は翌日に終わります。終日は 00:00〜24:00）"),
    ("must be at least 1", "1以上にしてください"),
    ("must be between {} and {}, not {}", "{0}から{1}の間にしてください（{2} ではなく）"),
    ("must be between {} and {}", "{0}から{1}の間にしてください"),
    ("must be more than 0", "0より大きくしてください"),
    ("must not be empty", "空にはできません"),
    ("must not be negative", "負の値にはできません"),
    ("needs a multiplier, points_per_item or bonus", "倍率、points_per_item、ボーナスのいずれかが必要です"),
    ("needs a multiplier or a bonus", "倍率かボーナスが必要です"),
    ("needs at least one level", "少なくとも1つのランクが必要です"),
    ("needs points or a reward", "ポイントか特典が必要です"),
    ("points are whole numbers", "ポイントは整数です"),
    ("the first level starts at 0", "最初のランクは0から始まります"),
    ("expected value", "値が必要です"),
    ("expected `,` or `}`", "「,」か「}」が必要です"),
    ("expected `,` or `]`", "「,」か「]」が必要です"),
    ("expected `:`", "「:」が必要です"),
    ("trailing comma", "最後の要素の後ろに余分な「,」があります"),
    ("key must be a string", "項目名は \"…\" で囲んでください"),
    ("EOF while parsing {}", "JSON が途中で終わっています（閉じ括弧などが足りません）"),
    ("trailing characters", "JSON の終わりの後ろに余分な文字があります"),
    ("invalid number", "数値として読めません"),
    ("missing field `{}`", "項目 `{0}` がありません"),
    ("unknown field `{}`, expected one of {}", "`{0}` という項目はありません（使える項目: {1}）"),
    ("unknown field `{}`, expected {}", "`{0}` という項目はありません（使える項目: {1}）"),
    ("unknown variant `{}`, expected one of {}", "`{0}` は使えません（次のいずれか: {1}）"),
    ("invalid type: {}, expected {}", "値の種類が違います（{1} が必要ですが {0} です）"),
    ("{} (line {}, column {})", "{0}（{1}行{2}列）"),
];

/// English → Japanese.
const JA: &[(&str, &str)] = &[
    ("Loyal and semi-loyal customers", "ロイヤル顧客と準ロイヤル顧客"),
    ("RFM grid", "RFMグリッド"),
    ("Customers by recency (R, 5 = most recent) and frequency (F, 5 = most often)", "最新購買日（R、5＝最も最近）と購買頻度（F、5＝最も多い）別の顧客数"),
    ("Dashboard", "ダッシュボード"),
    ("Customers who bought", "購入した顧客"),
    ("Revenue", "売上"),
    ("Repeat customers", "リピート顧客"),
    ("bought on more than one day", "2日以上購入"),
    ("Top 20% of customers", "上位20%の顧客"),
    ("Loyal customers", "ロイヤル顧客"),
    ("loyal or semi-loyal; the goal is 25–30%", "ロイヤルまたは準ロイヤル。目標は25〜30%"),
    ("Revenue by month", "月別売上"),
    ("Revenue of each of the last twelve months", "直近12か月の月別売上"),
    ("Lapsed customers most worth winning back", "呼び戻したいお客様（価値の高い順）"),
    ("Customer", "顧客"),
    ("Stage", "段階"),
    ("Silent", "最後の購入から"),
    ("At stake", "失うおそれのある売上"),
    ("Lifecycle", "ライフサイクル"),
    ("Customers per lifecycle stage, from newcomers to gone quiet", "ライフサイクル段階別の顧客数（新しいお客様から購入が途絶えたお客様まで）"),
    ("Newcomer", "新しいお客様"),
    ("In rhythm", "いつも通り"),
    ("Later than usual", "少し間があいた"),
    ("Long overdue", "しばらくご無沙汰"),
    ("Gone quiet", "購入が途絶えた"),
    ("Japan time", "日本時間"),
    ("UTC", "協定世界時（UTC）"),
    ("Console", "管理画面"),
    ("Join page", "会員登録ページ"),
    ("Customer page", "お客様ページ"),
    ("Unsubscribe link", "配信停止リンク"),
    ("{} ({})", "{}（{}）"),
    ("Birthday reward", "誕生日特典"),
    ("Welcome perk for joining", "入会特典"),
    ("Referred by a customer", "お客様からの紹介"),
    ("Referred a new customer", "新しいお客様を紹介"),
    ("Line {}, column {} of the JSON ({}): {}", "JSON の{0}行{1}列目（{2}）: {3}"),
    ("Line {}, column {} of the JSON: {}", "JSON の{0}行{1}列目: {2}"),
    ("RFM segments", "RFMセグメント"),
    ("Customers per RFM segment", "RFMセグメント別の顧客数"),
    ("any", "すべて"),
    ("Customers", "顧客"),
    ("Search", "検索"),
    ("Name, reading, phone, email, member or referral code", "名前・フリガナ・電話番号・メール・会員番号・紹介コード"),
    ("RFM segment", "RFMセグメント"),
    ("Saved segment", "保存したセグメント"),
    ("Loyal class", "ロイヤル区分"),
    ("Id", "ID"),
    ("Name", "名前"),
    ("Email", "メール"),
    ("Orders", "注文数"),
    ("Spend", "購入額"),
    ("Last order", "最終購入"),
    ("No customer matches.", "該当する顧客はいません。"),
    ("Audit log", "監査ログ"),
    ("Privacy request", "個人情報の請求"),
    ("Download everything held about this customer (JSON)", "この顧客について保有するすべての情報をダウンロード（JSON）"),
    (
        "Erasing deletes the profile, consent history, messages, interactions and events for good; orders and points stay, anonymised.",
        "消去すると、プロフィール、同意の履歴、送信したメッセージ、対応記録、行動イベントが完全に削除されます。注文とポイントは匿名化して残ります。",
    ),
    ("Type the customer's id to confirm", "確認のため顧客IDを入力"),
    ("Erase this customer", "この顧客を消去"),
    ("Customer not erased", "顧客は消去されていません"),
    ("Type the customer's id, {}, to confirm.", "確認のため顧客ID {} を入力してください。"),
    ("Who changed what, newest first. Entries cannot be changed or deleted.", "誰が何を変更したか（新しい順）。記録は変更も削除もできません。"),
    ("When", "日時"),
    ("Who", "実行者"),
    ("Subject", "対象"),
    ("Details", "詳細"),
    ("Older →", "さらに古い記録 →"),
    ("The sign-in form expired or came from another site. Sign in again.", "サインインのフォームの有効期限が切れたか、別のサイトから送信されました。もう一度サインインしてください。"),
    ("Too many failed sign-ins. Wait {} seconds and try again.", "サインインの失敗が続いています。{} 秒待ってからもう一度お試しください。"),
    ("A manager confirms this sale", "この売上には責任者の確認が必要です"),
    ("This sale of {} is above the {} staff may record alone.", "{} の売上は、スタッフだけで記録できる上限 {} を超えています。"),
    ("Manager's email", "責任者のメールアドレス"),
    ("Manager's password", "責任者のパスワード"),
    ("Confirm and record", "確認して記録"),
    ("That is not the email and password of an active manager.", "有効な責任者のメールアドレスとパスワードではありません。"),
    (
        "Type a name (two characters or more), an email, a phone number or an id: staff see at most 20 matches.",
        "名前（2文字以上）、メールアドレス、電話番号または顧客IDで検索してください。スタッフに表示されるのは最大20件です。",
    ),
    ("Next →", "次へ →"),
    ("← Previous", "← 前へ"),
    ("Pages", "ページ"),
    ("Columns", "表示する列"),
    ("Show these columns", "この列を表示"),
    ("Likely to buy next", "次に買いそうな商品"),
    ("Interaction recorded.", "対応履歴を記録しました。"),
    ("Marked resolved.", "解決済みにしました。"),
    ("Points adjusted.", "ポイントを調整しました。"),
    ("Reward redeemed; the coupon is in the loyalty card.", "特典と交換しました。クーポンはロイヤルティ欄にあります。"),
    ("Open issues", "未解決の案件"),
    ("Nothing open.", "未解決の案件はありません。"),
    ("Mark resolved", "解決済みにする"),
    ("Contact", "連絡先"),
    ("Phone", "電話"),
    ("Address", "住所"),
    ("Birthday", "誕生日"),
    ("Language", "言語"),
    ("Consent", "同意"),
    ("Purchases", "購買"),
    ("Purchase days", "購買日数"),
    ("Returned", "返品額"),
    ("First order", "初回購入"),
    ("Timeline", "タイムライン"),
    ("What", "種類"),
    ("Summary", "内容"),
    ("Amount", "金額"),
    ("Status", "状態"),
    ("Nothing yet.", "まだ何もありません。"),
    ("Scores", "スコア"),
    ("Predicted value (12 months)", "予測価値（12か月）"),
    ("Loyalty", "ロイヤルティ"),
    ("Balance", "残高"),
    ("Usable now", "今使えるポイント"),
    ("Pending (return window)", "保留中（返品期間）"),
    ("Tier", "ランク"),
    ("Referral code", "紹介コード"),
    ("Coupons", "クーポン"),
    ("Share of customers meeting the loyal or semi-loyal thresholds frozen on {}", "{}に固定した基準でロイヤル・準ロイヤルに該当する顧客の割合"),
    ("{} orders", "{}件の注文"),
    ("median order {}", "注文額の中央値 {}"),
    ("of revenue · Gini {}", "の売上を占める · ジニ係数 {}"),
    ("{} · {} orders", "{} · {}件"),
    ("{} days (usually {})", "{}日（通常は{}日）"),
    ("Recorded order {}: {} earned {} points.", "注文 {0} を記録しました。{1} で {2} ポイント獲得。"),
    ("Recorded order {}: {}, no points — {}.", "注文 {0} を記録しました。{1}、ポイントなし（{2}）。"),
    ("no loyalty programme is in force", "実施中のポイントプログラムがありません"),
    ("under the {} minimum", "最低購入額 {0} 未満"),
    ("nothing in it earns points", "ポイント対象の商品がありません"),
    ("too small to earn a point", "1ポイントに満たない金額"),
    ("the points limit is reached", "ポイントの上限に達しています"),
    ("Amount ({})", "金額（{0}）"),
    ("Yes, record {}", "{0} で記録する"),
    ("or change the sale below.", "または下で入力し直してください。"),
    ("Type the amount of the sale.", "売上金額を入力してください。"),
    ("'{}' is not an amount: write it like {}.", "'{0}' は金額ではありません。{1} のように入力してください。"),
    ("'{}' has decimals, but amounts in {} have none: write it like {}.", "'{0}' には小数があります。{1} の金額に小数はありません。{2} のように入力してください。"),
    ("'{}' has more than {} decimals: write it like {}.", "'{0}' は小数点以下が{1}桁を超えています。{2} のように入力してください。"),
    ("'{}' is in another currency ({}): this shop records {}.", "'{0}' は別の通貨（{1}）です。この店の通貨は {2} です。"),
    ("'{}' is too large an amount.", "'{0}' は大きすぎる金額です。"),
    ("A sale must be more than {}.", "売上は {0} より大きい金額にしてください。"),
    ("{} is more than {} times this customer's average sale ({}). Is the amount right?", "{0} はこのお客様の平均購入額（{2}）の{1}倍を超えています。金額は正しいですか？"),
    ("{} is above {}, the sale the till asks about. Is the amount right?", "{0} は確認が必要な金額（{1}）を超えています。金額は正しいですか？"),
    ("{} points is more than {} times what this customer's average order earns ({} points). Is it right?", "{0} ポイントは、このお客様の平均的な注文で付くポイント（{2} ポイント）の{1}倍を超えています。よろしいですか？"),
    ("{} points is more than {}, the adjustment the console asks about. Is it right?", "{0} ポイントは確認が必要な調整幅（{1} ポイント）を超えています。よろしいですか？"),
    ("Confirm the adjustment", "ポイント調整の確認"),
    ("Yes, adjust by {} points", "{0} ポイント調整する"),
    ("Customer {} · first seen {}", "顧客 {} · 初回 {}"),
    ("since {}", "（{}から）"),
    ("{} points", "{}ポイント"),
    ("Owes {} points (redemption blocked)", "{}ポイントの不足（交換停止中）"),
    ("Expiring {}: {} points", "{}に失効: {}ポイント"),
    ("{} more to {}", "{1}まであと{0}"),
    ("{} of {} stamps", "スタンプ {} / {}"),
    ("referred {}", "紹介 {}人"),
    ("Back to the customer", "顧客に戻る"),
    ("Record a purchase", "購入を記録"),
    ("Item", "商品"),
    ("SKU (optional)", "SKU（任意）"),
    ("Category", "カテゴリー"),
    ("optional", "任意"),
    ("Record", "記録"),
    ("Record an interaction", "対応を記録"),
    ("Kind", "種類"),
    ("What happened", "内容"),
    ("Already resolved", "解決済み"),
    ("Interaction not recorded", "対応は記録されませんでした"),
    ("Choose a kind.", "種類を選んでください。"),
    ("Say what happened.", "内容を入力してください。"),
    ("Redeem a reward", "特典と交換"),
    ("Reward", "特典"),
    ("Redeem", "交換"),
    ("Reward not redeemed", "特典と交換できませんでした"),
    ("Adjust points", "ポイント調整"),
    ("Points (+ or −)", "ポイント（＋または−）"),
    ("Reason", "理由"),
    ("Adjust", "調整"),
    ("Points are adjusted by owners and marketers.", "ポイントの調整はオーナーとマーケターが行います。"),
    ("Points not adjusted", "ポイントは調整されませんでした"),
    ("points: write a whole number, e.g. 50 or -50.", "ポイント: 50 や -50 のような整数を入力してください。"),
    ("Programme (JSON, see docs/loyalty.md)", "プログラム（JSON、docs/loyalty.md を参照）"),
    ("Apply as a new version", "新しいバージョンとして適用"),
    ("The loyalty programme is managed by owners and marketers.", "ロイヤルティプログラムはオーナーとマーケターが管理します。"),
    ("Loyalty programme", "ロイヤルティプログラム"),
    ("Not applied.", "適用されませんでした。"),
    ("No programme yet. Start from a starter (café, retail, e-commerce) below.", "プログラムはまだありません。下のひな形（カフェ、小売、EC）から始めましょう。"),
    ("Rewards", "特典"),
    ("Points", "ポイント"),
    ("Valid for", "有効期間"),
    ("Uses", "利用回数"),
    ("issued, not sold", "付与のみ（交換不可）"),
    ("Promotions and stamp cards", "キャンペーンとスタンプカード"),
    ("Latest redemptions", "最近の特典交換"),
    ("Format", "形式"),
    ("Import the good rows and report the bad ones (otherwise a file with a bad row imports nothing)", "正しい行を取り込み、誤りのある行を報告する（チェックしない場合、誤りが1行でもあれば何も取り込みません）"),
    ("Import", "取り込み"),
    ("Imports are run by owners and marketers.", "取り込みはオーナーとマーケターが行います。"),
    ("Import orders", "注文の取り込み"),
    ("Line", "行"),
    ("Column", "列"),
    ("Order", "注文"),
    ("Why", "理由"),
    ("The upload was cut off.", "アップロードが途中で切れました。"),
    ("The upload could not be read.", "アップロードを読み取れませんでした。"),
    ("Choose a file to import.", "取り込むファイルを選んでください。"),
    ("Recent imports", "最近の取り込み"),
    ("Imports", "データの取り込み"),
    ("Orders, customers and products from CSV files (UTF-8 or Shift_JIS, as Excel and POS systems save them) or JSON Lines.", "注文・顧客・商品を CSV ファイル（Excel や POS レジが保存する UTF-8 または Shift_JIS）か JSON Lines から取り込みます。"),
    ("Orders and returns", "注文・返品"),
    ("Customer profiles", "顧客情報"),
    ("Product catalogue", "商品マスタ"),
    ("Encoding", "文字コード"),
    ("Detect (UTF-8 or Shift_JIS)", "自動判別（UTF-8 または Shift_JIS）"),
    ("CSV (Enishi's columns, or mapped on the next screen)", "CSV（Enishi の列名、または次の画面で列を対応付け）"),
    ("CSV", "CSV"),
    ("JSON Lines (one record per line)", "JSON Lines（1行に1件の JSON）"),
    ("CDNOW (research data set)", "CDNOW（研究用データセット）"),
    ("Online Retail II (research data set)", "Online Retail II（研究用データセット）"),
    ("Shopify orders export", "Shopify の注文エクスポート"),
    ("Records created", "作成件数"),
    ("Choose orders, customers or products.", "注文・顧客・商品のいずれかを選んでください。"),
    ("Unknown format: choose CSV, Shopify, JSON Lines, CDNOW or Online Retail II.", "不明な形式です。CSV、Shopify、JSON Lines、CDNOW、Online Retail II から選んでください。"),
    ("Customers are imported from CSV or JSON Lines, products from CSV.", "顧客は CSV か JSON Lines、商品は CSV から取り込みます。"),
    ("Choose an encoding: detect, UTF-8 or Shift_JIS.", "文字コードを選んでください（自動判別、UTF-8、Shift_JIS）。"),
    ("Import customers", "顧客の取り込み"),
    ("Import products", "商品の取り込み"),
    ("Column in the file", "ファイルの列"),
    ("First values", "先頭の値"),
    ("Enishi field", "Enishi の項目"),
    ("{}, read as {}. Choose which of Enishi's fields each column feeds; the choices are remembered for the next import.", "{} を {} として読み込みました。各列を Enishi のどの項目に取り込むか選んでください。選んだ対応は次回の取り込みのために保存されます。"),
    ("— not imported —", "— 取り込まない —"),
    ("(required)", "（必須）"),
    ("Cancel", "キャンセル"),
    ("'{}' is not one of Enishi's fields.", "'{}' は Enishi の項目ではありません。"),
    ("Two columns feed {}: choose one.", "2つの列が {} に対応しています。1つを選んでください。"),
    ("Choose a column for each required field: {}.", "必須の項目すべてに列を選んでください: {}。"),
    ("{} row", "{}行"),
    ("{} rows", "{}行"),
    ("{} order", "{}件の注文"),
    ("{} return", "{}件の返品"),
    ("{} returns", "{}件の返品"),
    ("{} customer", "{}人の顧客"),
    ("{} customers", "{}人の顧客"),
    ("{} product", "{}件の商品"),
    ("{} products", "{}件の商品"),
    ("{} bad row", "誤りのある行が{}行"),
    ("{} bad rows", "誤りのある行が{}行"),
    ("{}: {} read; {}, {} and {} created; {} already stored; {} rejected.", "{}: {}を読み込み、{}・{}・{}を作成、{}件は登録済み、{}を除外しました。"),
    ("{}: {} read; {} created, {} updated; {} rejected.", "{}: {}を読み込み、{}を作成、{}件を更新、{}を除外しました。"),
    ("{}: {}; nothing was imported. Fix them, or tick “Import the good rows”.", "{}: {}あるため、何も取り込んでいません。修正するか、「正しい行を取り込む」にチェックしてください。"),
    ("Download the rejected rows (CSV)", "除外した行をダウンロード（CSV）"),
    ("line {}, column {}: {}", "{0}行目、{1}列: {2}"),
    ("line {}: {}", "{0}行目: {1}"),
    ("one purchase day: too early to tell", "購買日が1日のみ: まだ判断できません"),
    ("File", "ファイル"),
    ("Rows", "行数"),
    ("Rows rejected", "除外した行"),
    ("Importing {}: {}% read.", "{} を取り込み中: {}% 読み込み済み。"),
    ("This page refreshes itself until the import is done; you may leave it and come back.", "取り込みが終わるまでこのページは自動で更新されます。離れて後で戻ってきても構いません。"),
    ("Rows not imported", "取り込まれなかった行"),
    ("API tokens", "APIトークン"),
    ("Role", "役割"),
    ("Label", "ラベル"),
    ("Create a token", "トークンを作成"),
    ("Created", "作成日"),
    ("Revoke", "無効にする"),
    ("This page is for owners (admin).", "このページはオーナー（管理者）専用です。"),
    ("Unknown role.", "不明な役割です。"),
    ("A token needs a label.", "トークンにはラベルが必要です。"),
    ("amount: {}", "金額: {}"),
    ("{} ({} points)", "{}（{}ポイント）"),
    ("{} days", "{}日"),
    ("{} customers · {} points", "{}人 · {}ポイント"),
    ("{} holders · {} cards completed · {} rewards used", "保有者{}人 · 達成{}枚 · 特典利用{}件"),
    ("{}: {}; nothing was imported.", "{}: {}。何も取り込まれていません。"),
    ("New {} token — copy it now, it is not shown again:", "新しい{}トークン — 今コピーしてください。二度と表示されません:"),
    ("revoked {}", "{}に無効化"),
    ("Skip to content", "本文へ移動"),
    ("Analytics", "分析"),
    ("Users", "ユーザー"),
    ("Tokens", "トークン"),
    ("Settings", "設定"),
    ("Sign out", "ログアウト"),
    ("Not allowed", "権限がありません"),
    ("This form has expired or did not come from Enishi. Reload the page and try again.", "このフォームは期限切れか、Enishi から送られたものではありません。ページを再読み込みしてやり直してください。"),
    ("Not found", "見つかりません"),
    ("There is nothing here.", "ここには何もありません。"),
    ("Sign in", "ログイン"),
    ("Password", "パスワード"),
    ("The demo prints the owner's email and password; owners add users on the Users page or with `enishi user create`.", "デモはオーナーのメールとパスワードを表示します。ユーザーはオーナーが「ユーザー」ページか `enishi user create` で追加します。"),
    ("That email and password do not match an active user.", "メールとパスワードが有効なユーザーと一致しません。"),
    ("Choose English or Japanese.", "英語か日本語を選んでください。"),
    ("The last enabled owner must stay an enabled owner.", "最後の有効なオーナーは、有効なオーナーのままにしておく必要があります。"),
    ("Add a user", "ユーザーを追加"),
    ("First password", "初期パスワード"),
    ("Add", "追加"),
    ("Access", "アクセス"),
    ("Enable", "有効にする"),
    ("Disable", "無効にする"),
    ("Change", "変更"),
    ("disabled", "無効"),
    ("Choose a role and a language.", "役割と言語を選んでください。"),
    ("Settings saved; they are in force now.", "設定を保存しました。すでに反映されています。"),
    ("Business time zone", "営業タイムゾーン"),
    ("An IANA name such as Asia/Tokyo or Europe/Paris: business days, promotions and stamp days follow it.", "Asia/Tokyo や Europe/Paris のような IANA 名。営業日、キャンペーン、スタンプの日付はこれに従います。"),
    ("Currency", "通貨"),
    ("ISO 4217 code of orders that do not name their currency.", "通貨の指定がない注文に使う ISO 4217 コード。"),
    ("Save", "保存"),
    ("Your account", "アカウント"),
    ("Password changed; your other sessions were signed out.", "パスワードを変更しました。ほかのセッションはログアウトされました。"),
    ("Change your password", "パスワードの変更"),
    ("Current password", "現在のパスワード"),
    ("New password", "新しいパスワード"),
    ("The current password is not right.", "現在のパスワードが正しくありません。"),
    ("Email: '{}' is not an email address.", "メール: '{}' はメールアドレスではありません。"),
    ("Password: use at least {} characters.", "パスワード: {}文字以上にしてください。"),
    ("Email: a user with {} already exists.", "メール: {} のユーザーはすでに存在します。"),
    ("Saved: {}", "保存しました: {}"),
    ("Business time zone: {}", "営業タイムゾーン: {}"),
    ("Currency: {}", "通貨: {}"),
    ("Measure", "指標"),
    ("10%", "10%"),
    ("25%", "25%"),
    ("Median", "中央値"),
    ("75%", "75%"),
    ("90%", "90%"),
    ("Mean", "平均"),
    ("Analytics are for owners and marketers.", "分析はオーナーとマーケター向けです。"),
    ("Sections", "セクション"),
    ("KPIs", "KPI"),
    ("Cohorts", "コホート"),
    ("Predicted value", "予測価値"),
    ("Accounts", "法人アカウント"),
    ("Segment", "セグメント"),
    ("Share", "割合"),
    ("Repeat purchase rate", "リピート購入率"),
    ("Median order value", "注文額の中央値"),
    ("New customers by referral", "紹介による新規顧客"),
    ("Order value", "注文額"),
    ("Orders per customer", "顧客あたり注文数"),
    ("Revenue per customer", "顧客あたり売上"),
    ("Days between purchases", "購買間隔（日）"),
    ("Mon", "月"),
    ("Tue", "火"),
    ("Wed", "水"),
    ("Thu", "木"),
    ("Fri", "金"),
    ("Sat", "土"),
    ("Sun", "日"),
    ("Orders by weekday", "曜日別の注文"),
    ("Orders per day of the week", "曜日ごとの注文数"),
    ("Orders by hour", "時間帯別の注文"),
    ("Orders per hour of the day, business time", "時間帯ごとの注文数（営業タイムゾーン）"),
    ("Monthly cohorts", "月別コホート"),
    ("Share of each month's new customers buying again N months later", "各月の新規顧客のうち N か月後に再購入した割合"),
    ("First month (customers)", "初回購入月（顧客数）"),
    ("Not scored yet: the server scores customers once a day (or run `enishi analyze clv`).", "まだスコアがありません。サーバーは1日1回スコアを計算します（または `enishi analyze clv` を実行）。"),
    ("P(alive)", "P(生存)"),
    ("the chance they are still a customer who will buy again", "まだ顧客で、また買ってくれる見込み"),
    ("Expected purchases", "予測購入回数"),
    ("Target accounts", "ターゲット法人"),
    ("No B2B accounts yet.", "法人アカウントはまだありません。"),
    ("Account", "法人"),
    ("Industry", "業種"),
    ("Region", "地域"),
    ("Active contacts", "アクティブな担当者"),
    ("Trend (90 days)", "傾向（90日）"),
    ("{} customers {}", "{1} {0}人"),
    ("mean {}", "平均 {}"),
    ("{} of {}", "{1}人中{0}人"),
    ("Revenue concentration", "売上の集中度"),
    ("Share of revenue by share of customers, largest first", "顧客の割合（上位から）ごとの売上の割合"),
    ("customers, largest first", "顧客（上位から）"),
    ("share of revenue", "売上の割合"),
    ("top {}%: {}%", "上位{}%: {}%"),
    ("Version {} applied by {} · in force from {}", "バージョン {} · 適用者 {} · {} から有効"),
    ("{} orders, spend {} (weeks before: {} orders, {})", "注文{}件、売上 {}（前の週: 注文{}件、{}）"),
    ("No occurrence yet.", "まだ開催されていません。"),
    ("Every {} {}–{}", "毎週{0} {1}〜{2}"),
    ("Every {} {}–{} (the next day)", "毎週{0} {1}〜翌{2}"),
    (", ", "・"),
    ("Occurrence", "開催日時"),
    ("Usual (weeks without)", "通常（開催のない週）"),
    ("Against usual", "通常比"),
    ("{} orders, {} (mean of {} weeks)", "注文{0}件、{1}（{2}週の平均）"),
    ("no week without it yet", "比べられる週はまだありません"),
    ("Thresholds frozen on {}: loyal = the top 7%, semi-loyal = the next 13% by spend, tenure and repeat purchases. Today {} customers meet them ({}%).", "{}に固定した基準: 購入額・継続期間・リピート回数で上位7%がロイヤル、次の13%が準ロイヤル。現在{}人が該当（{}%）。"),
    ("new", "新規"),
    ("enabled", "有効"),
        ("at risk", "離反の恐れ"),
    ("lost", "離脱"),
    ("champions", "チャンピオン"),
    ("loyal", "ロイヤル"),
    ("semi loyal", "準ロイヤル"),
    ("potential loyalist", "ロイヤル候補"),
    ("promising", "有望"),
    ("need attention", "要注意"),
    ("about to sleep", "休眠予備軍"),
    ("can't lose them", "離れかけの上得意"),
    ("hibernating", "休眠"),
    ("admin", "オーナー（管理者）"),
    ("marketer", "マーケター"),
    ("staff", "スタッフ"),
    ("opted in", "同意あり"),
    ("opted out", "拒否"),
    ("unknown", "不明"),
    ("sms", "SMS"),
    ("postal", "郵便"),
    ("request", "要望"),
    ("complaint", "苦情"),
    ("inquiry", "問い合わせ"),
    ("compliment", "お褒め"),
    ("call", "電話対応"),
    ("note", "メモ"),
    ("open", "未解決"),
    ("resolved", "解決済み"),
    ("ecommerce", "EC"),
    ("in store", "店舗"),
    ("app", "アプリ"),
    ("delivery", "配達"),
    ("b2b", "法人"),
    ("other", "その他"),
    ("return", "返品"),
    ("communication", "連絡"),
    ("interaction", "対応"),
    ("event", "イベント"),
    ("completed", "完了"),
    ("sent", "送信済み"),
    ("delivered", "配信済み"),
    ("opened", "開封"),
    ("clicked", "クリック"),
    ("bounced", "不達"),
    ("failed", "失敗"),
    ("Segments", "セグメント一覧"),
    ("Segments are for owners and marketers.", "セグメントはオーナーとマーケターが扱います。"),
    ("Choose a field.", "項目を選んでください。"),
    ("Write the arguments as name: value, separated by commas, such as sku: \"A\", within: 90d.", "引数は「名前: 値」をカンマで区切って書きます（例: sku: \"A\", within: 90d）。"),
    ("Give a value to compare with.", "比較する値を入力してください。"),
    ("Choose an operator.", "演算子を選んでください。"),
    ("They know both: thank them, offer what goes with both.", "両方をご存じのお客様です。感謝を伝え、両方に合う商品をおすすめしましょう。"),
    ("New segment", "新しいセグメント"),
    ("The form does not describe a rule. Reload the page and try again.", "フォームの内容を条件として読めません。ページを再読み込みしてやり直してください。"),
    ("Give the segment a name of 1 to 200 characters.", "セグメントに1〜200文字の名前を付けてください。"),
    ("Add at least one condition.", "条件を1つ以上追加してください。"),
    ("holds (no comparison)", "該当する（比較なし）"),
    ("is one of", "次のいずれか"),
    ("Not", "否定（NOT）"),
    ("Field", "項目"),
    ("Arguments", "引数"),
    ("Operator", "演算子"),
    ("Value", "値"),
    ("Remove", "削除"),
    ("Example:", "例:"),
    ("Match", "条件の組み合わせ"),
    ("all of these (AND)", "すべてに該当（AND）"),
    ("any of these (OR)", "いずれかに該当（OR）"),
    ("Remove group", "グループを削除"),
    ("No conditions yet: choose a field and add a condition.", "まだ条件がありません。項目を選んで条件を追加してください。"),
    ("Condition", "条件"),
    ("Add condition", "条件を追加"),
    ("Add group", "グループを追加"),
    ("← Segments", "← セグメント一覧"),
    ("Customers in this segment", "このセグメントの顧客"),
    ("Members now", "現在の人数"),
    ("Members", "人数"),
    ("counted {}", "{} に集計"),
    ("Count now", "今すぐ集計"),
    ("on {}", "（{}）"),
    ("Count", "人数を数える"),
    ("For example:", "該当する顧客の例:"),
    ("Description", "説明"),
    ("Conditions", "条件"),
    ("Text form", "テキスト形式"),
    ("The same rule as text (docs/segments.md). Edit it and count, save or use it to rebuild the conditions above.", "同じ条件をテキストで表したものです（docs/segments.md）。編集して人数を数える・保存する、または上の条件をこのテキストから作り直せます。"),
    ("Use this text", "このテキストを使う"),
    ("Save segment", "セグメントを保存"),
    ("Members on each day counted", "集計した日ごとの人数"),
    ("Bought A only (offer B)", "Aのみ購入（Bをご案内）"),
    ("Bought A and B", "AとBを購入"),
    ("Bought B only (offer A)", "Bのみ購入（Aをご案内）"),
    ("No saved segments yet. Build one, or start from a preset below.", "保存済みのセグメントはまだありません。新しく作るか、下のプリセットから始めてください。"),
    ("Last change", "直近の変化"),
    ("Trend", "推移"),
    ("Snapshot", "スナップショット"),
    ("not evaluated before", "まだ評価されていません"),
    ("Take a snapshot", "スナップショットを取る"),
    ("Start from a preset", "プリセットから始める"),
    ("Product mailings: A and B", "商品別DM: 商品AとB"),
    ("Preset", "プリセット"),
    ("Build", "作成"),
    ("No two products were bought by the same customer yet.", "同じ顧客が2つの商品を購入した例はまだありません。"),
    ("Suggest the pairs bought together most often", "よく一緒に購入される商品の組み合わせを提案"),
    ("Give the snapshot a label, such as the mailing it is for.", "スナップショットにラベル（どのDM用かなど）を付けてください。"),
    ("Line {}, column {}: expected {}, found {}.", "{0}行{1}列目: {2} が必要ですが、{3} があります。"),
    ("There is already a segment named \"{}\".", "「{}」という名前のセグメントはすでにあります。"),
    ("Bought {} only", "{}のみ購入"),
    ("Offer them {}.", "{}をご案内しましょう。"),
    ("Bought {} and {}", "{}と{}を購入"),
    ("line {}", "{}行目"),
    ("Saved segment \"{}\".", "セグメント「{}」を保存しました。"),
    ("Snapshot of \"{}\" taken.", "「{}」のスナップショットを取りました。"),
    ("+{} joined, −{} left", "+{}人が加わり、−{}人が外れました"),
    ("({} customers)", "（{}人）"),
    ("profile", "プロフィール"),
    ("events", "行動イベント"),
    ("membership", "セグメント・リスト"),
    ("Semi-loyal", "準ロイヤル顧客"),
    ("Lapsed loyal", "離れたロイヤル顧客"),
    ("New customers", "新規顧客"),
    ("Frequent buyers without a membership", "会員でない頻繁購入者"),
    ("One-time buyers", "1回だけ購入した顧客"),
    ("Birthdays next month", "来月が誕生日の顧客"),
    ("the top ≈7% of buyers: a personal touch (a call, a handwritten letter)", "購入者の上位約7%: 個別のおもてなしを（電話、手書きの手紙）"),
    ("the next ≈13%: a letter", "その次の約13%: お手紙を"),
    ("loyal or semi-loyal customers with no order for 90 days: ask why", "90日間注文のないロイヤル・準ロイヤル顧客: 理由を伺いましょう"),
    ("first order in the last 30 days: welcome them", "30日以内に初めて注文: 歓迎の気持ちを伝えましょう"),
    ("4 or more orders in a year and no paid membership: invite them", "1年に4回以上注文し有料会員でない: 入会をご案内しましょう"),
    ("bought once: a reason to come back", "1回だけ購入: また来ていただくきっかけを"),
    ("send the birthday offer in time", "誕生日の特典を早めに送りましょう"),
    ("A name and a phone number or an email. Consent is recorded as given at the till, by you.", "お名前と、電話番号またはメールアドレスを入力します。連絡の同意は、あなたが店頭で確認したものとして記録されます。"),
    ("An erased customer cannot be merged.", "削除（消去）済みの顧客は統合できません。"),
    ("Back to the customers", "顧客一覧に戻る"),
    ("Channel", "連絡手段"),
    ("Consent history ({})", "同意の履歴（{}件）"),
    ("Consent history", "同意の履歴"),
    ("Consent to be contacted", "連絡の同意"),
    ("Contact details saved.", "連絡先を保存しました。"),
    ("Coupon not used", "クーポンを使用できませんでした"),
    ("Coupon used.", "クーポンを使用しました。"),
    ("Customer enrolled.", "顧客を登録しました。"),
    ("Customer {} already has this email.", "顧客 {} がすでにこのメールアドレスを使っています。"),
    ("Customer {} already has this phone number.", "顧客 {} がすでにこの電話番号を使っています。"),
    ("Customer {} merged into this one", "顧客 {} をこの顧客に統合"),
    ("Customer {} will be merged into {}, in one step that cannot be undone.", "顧客 {} を {} に統合します。この操作は取り消せません。"),
    ("Customer {}", "顧客 {}"),
    ("Customers are merged by owners and marketers.", "顧客の統合はオーナーとマーケティング担当者が行います。"),
    ("Customers not merged", "顧客を統合できませんでした"),
    ("Edit contact and consent", "連絡先と同意を編集"),
    ("Edit {}", "{} を編集"),
    ("Enrol a customer", "顧客を登録"),
    ("Enrol", "登録する"),
    ("Find the other record first.", "先に統合する相手の記録を検索してください。"),
    ("Find", "検索"),
    ("First seen", "初回来店"),
    ("Furigana", "フリガナ"),
    ("Keep the other record instead", "逆に、相手の記録を残す"),
    ("Kept", "残す記録"),
    ("Merge a duplicate record", "重複した記録を統合"),
    ("Merge another record into {}", "別の記録を {} に統合"),
    ("Merge {} into {}", "{} を {} に統合する"),
    ("Merged into it, then deleted", "統合後に削除される記録"),
    ("No consent recorded yet.", "同意の記録はまだありません。"),
    ("No customer has this shop id, email or phone.", "このショップID・メールアドレス・電話番号の顧客は見つかりません。"),
    ("No orders yet.", "注文はまだありません。"),
    ("Not yet:", "まだ交換できない特典:"),
    ("Open that customer", "その顧客を開く"),
    ("Order {}", "注文 {}"),
    ("Points: {}", "ポイント: {}"),
    ("Quantity", "数量"),
    ("Records merged into this customer.", "記録をこの顧客に統合しました。"),
    ("Return {}", "返品 {}"),
    ("Reward {}", "特典 {}"),
    ("Shop id", "ショップID"),
    ("Source", "経路"),
    ("That is this customer.", "それはこの顧客自身です。"),
    ("The other record: shop id, email or phone", "統合する記録（ショップID・メールアドレス・電話番号）"),
    ("This form has no key: reload the page.", "フォームのキーがありません。ページを再読み込みしてください。"),
    ("Type a phone number or an email, so the customer can be found again.", "次回も見つけられるよう、電話番号かメールアドレスを入力してください。"),
    ("Type the customer's name.", "お客様のお名前を入力してください。"),
    ("Unit price", "単価"),
    ("Use", "使用する"),
    ("When ({})", "日時（{}）"),
    ("When one person has two records, merge them: orders, points, stamps, coupons, tags, messages, interactions and history move to this customer, and the other record is deleted. Its shop id and email then find this customer.", "同じ方の記録が2つあるときは統合します。注文・ポイント・スタンプ・クーポン・タグ・メッセージ・対応履歴などはすべてこの顧客に移り、もう一方の記録は削除されます。削除された記録のショップIDとメールアドレスでも、この顧客が見つかります。"),
    ("already taken {} times, the most a customer may", "1人あたりの上限（{}回）まで交換済み"),
    ("for paid members only", "有料会員限定"),
    ("in kana, e.g. ヤマダ ハナコ", "カナで入力（例: ヤマダ ハナコ）"),
    ("returned {}", "返品 {}"),
    ("the customer owes {} points", "{} ポイントの不足（マイナス残高）があります"),
    ("until {}", "{} まで"),
    ("{} more points needed", "あと {} ポイント必要"),
    ("{} of {} uses left", "残り {} 回（全 {} 回）"),
    ("{} · by {}", "{} · 担当 {}"),
    ("earn", "獲得"),
    ("bonus", "ボーナス"),
    ("expire", "失効"),
    ("reverse", "取り消し"),
    ("correction", "修正"),
    ("merge", "統合"),
    ("promotion", "キャンペーン"),
    ("referral", "紹介"),
    ("manual", "手動"),
    ("expiry", "有効期限切れ"),
    ("repair", "修復"),
    ("A complaint → a follow-up call", "苦情 → フォローの電話"),
    ("A large first order → a thank-you note", "高額な初回注文 → お礼状"),
    ("A detractor's survey answer (0–6) → a call", "アンケートで批判的な回答（0〜6） → お電話"),
    ("survey", "アンケート"),
    ("A loyal customer turning long overdue → a personal call", "ロイヤル顧客がしばらくご無沙汰に → 個別の電話"),
    ("Add task", "タスクを追加"),
    ("All open", "未完了すべて"),
    ("Ask how it is now", "その後の様子を伺いましょう"),
    ("Asked", "伺いました"),
    ("Assignee", "担当者"),
    ("At the till, ask how a resolved concern is now for this many days", "解決したご相談のその後をレジで伺う期間（日数）"),
    ("Back", "戻る"),
    ("By assignee", "担当者順"),
    ("Call a detractor about their survey answer", "アンケートで批判的な回答のお客様へお電話"),
    ("Choose a status.", "状態を選んでください。"),
    ("Choose on or off for each rule.", "各ルールのオン・オフを選んでください。"),
    ("Choose someone from the list.", "一覧から選んでください。"),
    ("Customer value", "顧客価値"),
    ("Days are whole numbers from 1 to 365.", "日数は1から365の整数で入力してください。"),
    ("Done", "完了"),
    ("Due", "期限"),
    ("Everyone's", "全員分"),
    ("Exporting customers is for owners and marketers.", "顧客の書き出しはオーナーとマーケターが行います。"),
    ("Export this customer (CSV)", "この顧客を書き出す（CSV）"),
    ("Export these {} customers (CSV)", "この {} 人を書き出す（CSV）"),
    ("Till", "レジ"),
    ("Phone, name, reading, member code or card", "電話番号・名前・フリガナ・会員番号・会員カード"),
    ("090-1234-5678, ヤマダ, C-1024 or scan", "090-1234-5678、ヤマダ、C-1024 またはスキャン"),
    ("Type or scan, then Find. One match opens the customer.", "入力またはスキャンして「検索」を押してください。1人だけ見つかればその顧客を開きます。"),
    ("Type two characters or more of a name, or a phone number, member code or card.", "名前は2文字以上、または電話番号・会員番号・会員カードで検索してください。"),
    ("This card is not one of this shop's. Search by name or phone instead.", "この店の会員カードではありません。名前か電話番号で検索してください。"),
    ("No customer matches “{}”.", "「{}」に一致する顧客はいません。"),
    ("{} customers match; choose one.", "{} 人が一致しました。選んでください。"),
    ("Member code {}", "会員番号 {}"),
    ("phone {}", "電話 {}"),
    ("Follow up on the complaint", "苦情のフォローアップ"),
    ("Give the due date as YYYY-MM-DD.", "期限は YYYY-MM-DD の形で入力してください。"),
    ("Inbox", "受付箱"),
    ("Issue", "案件"),
    ("Mine", "自分の担当"),
    ("Most valuable first", "顧客価値の高い順"),
    ("My tasks", "自分のタスク"),
    ("No open tasks.", "未完了のタスクはありません。"),
    ("No tasks.", "タスクはありません。"),
    ("Nobody", "なし"),
    ("Not saved", "保存できませんでした"),
    ("Off", "オフ"),
    ("Oldest first", "古い順"),
    ("On", "オン"),
    ("Open for", "経過"),
    ("Outcome", "結果"),
    ("Overdue", "期限切れ"),
    ("Owner and tasks", "担当者とタスク"),
    ("Owner not set", "担当者を設定できませんでした"),
    ("Owner", "担当者（オーナー）"),
    ("Owners are set by owners and marketers.", "顧客の担当者はオーナーとマーケターが設定します。"),
    ("Personal call: a loyal customer is long overdue", "個別の電話: ロイヤル顧客がしばらくご無沙汰"),
    ("Resolution note", "解決メモ"),
    ("Rules make follow-up tasks for the customer's owner; each makes one task per occasion however often it runs (at intake and in the daily work).", "ルールは顧客の担当者にフォローアップのタスクを作ります。受付時と毎日の処理で何度実行しても、1件の出来事につきタスクは1件です。"),
    ("Saved.", "保存しました。"),
    ("Say what to do.", "何をするか入力してください。"),
    ("Set owner", "担当者を設定"),
    ("Show", "表示"),
    ("Sort", "並び順"),
    ("Task not added", "タスクを追加できませんでした"),
    ("Task rules", "タスクのルール"),
    ("Task", "タスク"),
    ("Tasks", "タスク一覧"),
    ("Thank-you note for a large first order", "高額な初回注文へのお礼状"),
    ("The first-order amount is a decimal number such as 30000.", "初回注文の金額は 30000 のような数で入力してください。"),
    ("Unassigned", "担当者なし"),
    ("What to do", "内容"),
    ("Your tasks due today or overdue", "今日が期限または期限切れのあなたのタスク"),
    ("due in days", "期限（日後）"),
    ("over", "超える金額"),
    ("resolved in {} h", "{} 時間で解決"),
    ("{} d", "{} 日"),
    ("{} from {}", "{1}さんの{0}"),
    ("in progress", "対応中"),
    ("closed", "クローズ"),
    ("letter", "手紙"),
    ("meeting", "面談"),
    ("cancelled", "取消"),
    // Campaigns and message templates.
    ("'{}' is not a whole number of {}", "'{0}' は{1}の整数ではありません"),
    ("(none)", "（なし）"),
    ("1. Who", "1. 誰に"),
    ("2. What", "2. 何を"),
    ("3. How it is measured", "3. 効果の測り方"),
    ("4. When", "4. いつ"),
    ("A category", "カテゴリ"),
    ("A product (SKU)", "商品（SKU）"),
    ("All versions", "全バージョン"),
    ("Any purchase", "購入全般"),
    ("At a date and time", "日時を指定"),
    ("Attribution window (days)", "効果測定期間（日）"),
    ("Audience", "対象"),
    ("Audience: {} customers.", "対象: {} 人。"),
    ("Call list", "電話リスト"),
    ("Campaign", "キャンペーン"),
    ("Campaign name", "キャンペーン名"),
    ("Campaigns", "キャンペーン"),
    ("Campaigns are for owners and marketers.", "キャンペーンはオーナーとマーケターのページです。"),
    ("Cancel campaign", "キャンペーンを中止"),
    ("Choose…", "選択…"),
    ("Conversion rate by version", "バージョン別の反応率"),
    ("Conversion rate by version of the mailing", "DM のバージョン別の反応率"),
    ("Conversion rate of each version and the holdout", "各バージョンと除外群の反応率"),
    ("Conversion rate of each version of the mailing", "DM の各バージョンの反応率"),
    ("Conversions", "反応（購入）"),
    ("Cost", "費用"),
    ("Cost per message", "1通あたりの費用"),
    ("Create campaign", "キャンペーンを作成"),
    ("Created campaign \"{}\".", "キャンペーン「{}」を作成しました。"),
    ("Date and time ({})", "日時（{}）"),
    ("Download the print shop's list (CSV)", "印刷会社向けの宛名リストをダウンロード（CSV）"),
    ("English", "英語"),
    ("Failures", "失敗"),
    ("From address", "差出人アドレス"),
    ("Goal", "目標"),
    ("HTML body", "HTML 本文"),
    ("Holdout", "除外群"),
    ("Holdout (%)", "除外群（%）"),
    ("Japanese", "日本語"),
    ("Keep as a draft", "下書きのまま"),
    ("Leave a row's template and share empty to leave it out; the shares add up to 100.", "使わない行はテンプレートと配分を空欄に。配分の合計は100です。"),
    ("Letter (postal)", "手紙（郵送 DM）"),
    ("Letters", "手紙"),
    ("Lists", "リスト"),
    ("Mailing", "DM"),
    ("Merge fields", "差し込み項目"),
    ("Message templates", "メッセージテンプレート"),
    ("Messages sent", "送信数"),
    ("New campaign", "新しいキャンペーン"),
    ("New template", "新しいテンプレート"),
    ("No campaigns yet.", "キャンペーンはまだありません。"),
    ("No templates yet.", "テンプレートはまだありません。"),
    ("Not created.", "作成されませんでした。"),
    ("Not done", "実行できません"),
    ("Not saved.", "保存されませんでした。"),
    ("Only customers who opted in on the channel get a message; the others are recorded as skipped with the reason.", "そのチャネルで配信に同意したお客様にだけ送ります。それ以外のお客様は理由とともに「対象外」として記録されます。"),
    ("Preview", "プレビュー"),
    ("Preview for customer (the shop's id; blank for an example customer)", "プレビューするお客様（店舗の顧客 ID。空欄なら見本のお客様）"),
    ("ROI", "ROI"),
    ("Rate", "反応率"),
    ("Record the letters as posted", "手紙を投函済みとして記録"),
    ("Recorded {} letters as posted.", "{} 通の手紙を投函済みとして記録しました。"),
    ("Results", "結果"),
    ("SKU or category", "SKU またはカテゴリ"),
    ("Saved", "保存日時"),
    ("Saved template \"{}\".", "テンプレート「{}」を保存しました。"),
    ("Send time", "配信日時"),
    ("Sender's name", "差出人の名前"),
    ("Share (%)", "配分（%）"),
    ("Skipped:", "対象外:"),
    ("Start now", "今すぐ開始"),
    ("State", "状態"),
    ("Template", "テンプレート"),
    ("Subject line", "件名"),
    ("Text body", "テキスト本文"),
    ("Time to conversion (median)", "購入までの時間（中央値）"),
    ("Unsubscribed", "配信停止"),
    ("Uplift (95% CI)", "上積み（95% 信頼区間）"),
    ("Uplift: the difference of conversion rates against the holdout, in percentage points, with its 95% confidence interval; the p-value of the two-proportion test.", "上積み: 除外群との反応率の差（ポイント）と95% 信頼区間。p 値は2群の比率の検定によります。"),
    ("Version", "バージョン"),
    ("Version label", "バージョン名"),
    ("Versions", "バージョン"),
    ("Versions of \"{}\"", "「{}」のバージョン比較"),
    ("Versions of the same mailing are compared on the results page (coffee DM v1 and v2).", "同じ DM のバージョンは結果ページで比較されます（コーヒー DM v1 と v2 など）。"),
    ("Webhook (LINE, SMS)", "Webhook（LINE、SMS）"),
    ("Webhook address (webhook channel)", "Webhook の送信先（Webhook チャネル）"),
    ("Write them as {{ customer.honorific }}; amounts as {{ 1200 | money }}.", "{{ customer.honorific }} のように書きます。金額は {{ 1200 | money }}。"),
    ("a purchase in {}", "{} の購入"),
    ("a purchase of {}", "{} の購入"),
    ("choose a segment or a list", "セグメントかリストを選んでください"),
    ("Answered", "回答数"),
    ("Answers at each satisfaction level", "満足度の段階ごとの回答数"),
    ("Answers by group", "グループ別の回答"),
    ("Answers by level", "段階別の回答"),
    ("Answers by month", "月別の回答数"),
    ("Answers each month", "各月の回答数"),
    ("Detractors (0–6)", "批判者（0〜6）"),
    ("Everyone", "全員"),
    ("How often each reason was given", "理由ごとの回答数"),
    ("Invite a segment", "セグメントを招待"),
    ("Invite a segment on the survey's page; then send a campaign to the same segment with the merge field {{ survey_url }}.", "アンケートのページでセグメントを招待し、同じセグメントに差し込み項目 {{ survey_url }} を入れたキャンペーンを送ります。"),
    ("Invited", "招待数"),
    ("Invited {} customer.", "{} 人のお客様を招待しました。"),
    ("Invited {} customers.", "{} 人のお客様を招待しました。"),
    ("Links valid for (days)", "リンクの有効日数"),
    ("Made the survey \"{}\".", "アンケート「{}」を作成しました。"),
    ("Make the survey", "アンケートを作成"),
    ("Month", "月"),
    ("NPS (0–10)", "NPS（0〜10）"),
    ("NPS {}", "NPS {}"),
    ("New survey", "新しいアンケート"),
    ("No comments yet.", "自由記述の回答はまだありません。"),
    ("No surveys yet.", "アンケートはまだありません。"),
    ("Passives (7–8)", "中立者（7〜8）"),
    ("Promoters (9–10)", "推奨者（9〜10）"),
    ("Promoters, passives and detractors", "推奨者・中立者・批判者の数"),
    ("Reasons given", "挙げられた理由"),
    ("Result", "結果"),
    ("Results for", "集計の対象"),
    ("Satisfaction (five levels)", "満足度（5段階）"),
    ("Satisfied (levels 4–5)", "満足（4〜5）の割合"),
    ("Save a segment first.", "先にセグメントを保存してください。"),
    ("Surveys", "アンケート"),
    ("Surveys are for owners and marketers.", "アンケートはオーナーとマーケター向けです。"),
    ("Those with an open invitation are skipped. Send each their link with a campaign to the same segment: {{ survey_url }}.", "未回答で有効な招待のある方は除きます。同じセグメントへのキャンペーンで各自のリンク {{ survey_url }} を送ってください。"),
    ("What customers wrote", "お客様の声"),
    ("Why did you stop buying?", "ご購入をやめた理由"),
    ("average {}", "平均 {}"),
    ("{} promoters, {} passives, {} detractors", "推奨者 {} 人、中立者 {} 人、批判者 {} 人"),
    ("{}% satisfied", "満足 {}%"),
    ("Download the QR code (SVG)", "QR コードをダウンロード（SVG）"),
    ("Print this page (Ctrl+P or ⌘P): only the card is printed. The code opens the customer's own page — points, tier, coupons and contact preferences — without a password, for a year.", "このページを印刷してください（Ctrl+P または ⌘P）。印刷されるのはカードだけです。QR コードからは、お客様ご自身のページ（ポイント、会員ランク、クーポン、ご連絡方法の設定）をパスワードなしで1年間開けます。"),
    ("Member code", "会員番号"),
    ("Scan to see your points and coupons.", "読み取るとポイントとクーポンをご確認いただけます。"),
    ("Member card", "会員カード"),
    ("Join page QR code", "会員登録ページの QR コード"),
    ("Print this page (Ctrl+P or ⌘P): only the card is printed. Put it by the till, on a table or on a receipt: the code opens the join page, where customers sign up themselves.", "このページを印刷すると（Ctrl+P または ⌘P）、カードだけが印刷されます。レジ横やテーブル、レシートに添えてください。QR コードから会員登録ページが開き、お客様ご自身で登録できます。"),
    ("Join our members", "会員登録はこちら"),
    ("Scan to sign up: points and offers for members.", "読み取って会員登録：ポイントと会員限定の特典があります。"),
    ("On your web shop", "ネットショップに設置する"),
    ("Paste this form into a page of your web shop: it posts to the join page, which answers the customer. No script is needed.", "このフォームをネットショップのページに貼り付けてください。送信すると会員登録ページが受け付け、お客様に結果を表示します。スクリプトは不要です。"),
    ("Print member card", "会員カードを印刷"),
    ("days", "日数"),
    ("list \"{}\"", "リスト「{}」"),
    ("journey \"{}\"", "ジャーニー「{}」"),
    ("p-value", "p 値"),
    ("percent", "パーセント"),
    ("segment \"{}\"", "セグメント「{}」"),
    ("within {} days of the message", "メッセージから {} 日以内"),
    ("{} h", "{} 時間"),
    ("draft", "下書き"),
    ("scheduled", "予約済み"),
    ("sending", "配信中"),
    ("no consent", "同意なし"),
    ("no address", "宛先なし"),
    ("suppressed", "配信停止リスト"),
    ("frequency cap", "配信頻度の上限"),
    ("the customer's name as stored", "登録されているお客様の名前"),
    ("the customer's newest open survey invitation (empty without one)", "お客様への最新の未回答アンケートのリンク（なければ空）"),
    ("the customer's own page: points, tier, stamps, coupons, contact preferences", "お客様専用ページ：ポイント、ランク、スタンプ、クーポン、連絡方法の設定"),
    ("the name as a letter addresses it: 佐藤 花子 様 in japanese, the name in english", "宛名の書き方: 日本語では「佐藤 花子 様」、英語では名前"),
    ("the shop's own customer id", "店舗の顧客 ID"),
    ("the customer's email address", "お客様のメールアドレス"),
    ("the points balance", "ポイント残高"),
    ("points that can be used now", "今使えるポイント"),
    ("points expiring within 60 days (0 when none)", "60日以内に失効するポイント（なければ 0）"),
    ("the first day on which some of them expire, written in the template's language", "最初に失効する日（テンプレートの言語で表記）"),
    ("the tier's name, empty without one", "ランク名（なければ空）"),
    ("stamp cards: each with name, stamps and of (stamps to complete it)", "スタンプカード: それぞれ name、stamps、of（満了に必要な数）"),
    ("recommended products: each with sku, name, rating (the average stars of its approved reviews, such as 4.5; empty without any) and reviews (how many)", "おすすめ商品: それぞれ sku、name、rating（承認済みレビューの平均の星の数。例: 4.5。なければ空）と reviews（件数）"),
    ("the customer's newest review invitation not written yet (empty without one)", "お客様への最新の未記入レビュー依頼のリンク（なければ空）"),
    ("the bonus-points promotion the message is about: a promotion journey's own, else the first one running when the message goes out for the customer's tier (empty without one)", "メッセージが案内するポイントキャンペーン：キャンペーン開始のステップメールではそのキャンペーン、それ以外は送信時にお客様のランクで実施中の最初のもの（なければ空）"),
    ("what the promotion multiplies base points by, such as 2 (empty when it gives a fixed bonus only)", "基本ポイントの倍率（例：2。固定ボーナスだけのキャンペーンでは空）"),
    ("the fixed points the promotion adds per order (0 without)", "1回のご注文ごとに加算される固定ポイント（なければ0）"),
    ("when the promotion (or a recurring one's current occurrence) ends, with the time, in the business time zone and the template's language (empty when it has no end)", "キャンペーンの終了日時（繰り返しキャンペーンは今回の回の終了）。店舗のタイムゾーンで、テンプレートの言語で表記（終了がなければ空）"),
    ("the latest change the shop made after feedback the customer gave (empty without one)", "お客様の声を受けてお店が行った最新の改善（なければ空）"),
    ("the code of a coupon issued for this message (when the campaign issues one)", "このメッセージ用に発行されたクーポンのコード（キャンペーンが発行する場合）"),
    ("the last day the coupon can be used", "クーポンの利用期限"),
    ("the customer's one-click unsubscribe page", "お客様のワンクリック配信停止ページ"),
    ("the person the message is from (\"aya\")", "差出人の名前（「Aya」など）"),
    ("the shop's name", "店舗名"),
    ("the campaign's name", "キャンペーン名"),
    ("1 to 20 messages: key, template, channel (email, webhook or call), delay (0, 30m, 48h, 7d), send_at (HH:MM or suggested)", "1〜20通のメッセージ: key、template、channel（email、webhook、call）、delay（0、30m、48h、7d）、send_at（HH:MM または suggested）"),
    ("Cart left without an order", "カート放棄（注文なし）"),
    ("Create journey", "ジャーニーを作成"),
    ("Created journey \"{}\".", "ジャーニー「{}」を作成しました。"),
    ("Customers who reached each step", "各ステップに到達したお客様"),
    ("Days after an order", "注文から指定日数後"),
    ("Entered", "参加"),
    ("Finished", "完走"),
    ("First purchase", "初回購入"),
    ("In the send queue", "送信待ち"),
    ("Journey", "ジャーニー"),
    ("Journeys", "ジャーニー一覧"),
    ("Latest entries", "最近の参加"),
    ("Left before it", "手前で離脱"),
    ("Left early", "途中離脱"),
    ("Lifecycle stage reached", "ライフサイクル段階の変化"),
    ("Loyal customer lapsing", "ロイヤル顧客の来店途絶"),
    ("New journey", "新しいジャーニー"),
    ("Next", "次"),
    ("No journeys yet.", "ジャーニーはまだありません。"),
    ("Nobody has entered yet.", "まだ誰も参加していません。"),
    ("Pause", "一時停止"),
    ("Paused", "一時停止中"),
    ("Points expiring", "ポイント失効間近"),
    ("Promotion started", "キャンペーン（ボーナス）開始"),
    ("Reached", "到達"),
    ("Resume", "再開"),
    ("Running", "稼働中"),
    ("Send failures", "送信失敗"),
    ("Skipped", "対象外"),
    ("Stamp card one short of full", "スタンプカード満了まであと1つ"),
    ("Step", "ステップ"),
    ("Step mails a customer enters when something happens: a first purchase, a birthday, a tier upgrade, a promotion's start …", "初回購入、誕生日、ランクアップ、ボーナス開始など、出来事をきっかけにお客様が参加するステップメールです。"),
    ("Steps", "ステップ数"),
    ("Still in it", "進行中"),
    ("The funnel, step by step", "ステップごとのファネル"),
    ("The journey's document", "ジャーニーの定義"),
    ("The journey's document (JSON, as in docs/campaigns.md \"Journeys\")", "ジャーニーの定義（JSON、docs/campaigns.md の「Journeys」の形式）"),
    ("Tier upgrade", "ランクアップ"),
    ("Trigger", "きっかけ"),
    ("Waiting", "待機中"),
    ("What a journey says", "ジャーニーに書くこと"),
    ("Why they entered", "参加のきっかけ"),
    ("left: {}", "離脱: {}"),
    ("on_order, on_unsubscribe, when_matching and unless_matching (segment rules)", "on_order、on_unsubscribe、when_matching と unless_matching（セグメントの条件）"),
    ("{} at {}", "{}（{}）"),
    ("{} entered: {} in progress, {} finished, {} left early.", "参加 {} 人: 進行中 {}、完走 {}、途中離脱 {}。"),
    ("ordered", "購入した"),
    ("matched", "条件に一致"),
    ("no longer matched", "条件から外れた"),
    ("Reviews are moderated by owners and marketers.", "レビューの確認はオーナーとマーケターが行います。"),
    ("Changes are recorded by owners and marketers.", "改善の記録はオーナーとマーケターが行います。"),
    ("Waiting for moderation", "確認待ち"),
    ("Approved", "承認済み"),
    ("Rejected", "却下"),
    ("Reviews", "レビュー管理"),
    ("Number of reviews", "レビュー件数"),
    ("A review shows, and counts in its product's rating, only once approved.", "レビューは承認されてはじめて表示され、商品の評価に数えられます。"),
    ("No reviews here.", "該当するレビューはありません。"),
    ("Written", "投稿日"),
    ("Product", "商品"),
    ("Stars", "星"),
    ("Review", "レビュー"),
    ("Moderated", "確認者"),
    ("Approve", "承認する"),
    ("Reject", "却下する"),
    ("Ratings", "商品の評価"),
    ("No product has an approved review yet.", "承認済みのレビューがある商品はまだありません。"),
    ("Average", "平均"),
    ("Invite a review", "レビューを依頼する"),
    ("The customer's review page:", "お客様のレビューページ:"),
    ("Order id", "注文ID"),
    ("Product SKU (empty: the whole order)", "商品 SKU（空欄なら注文全体）"),
    ("Invite", "依頼する"),
    ("A message sends the customer's newest invitation as {{ review_url }}.", "メッセージでは {{ review_url }} でお客様への最新の依頼を送れます。"),
    ("Only a written review can be approved or rejected.", "承認・却下できるのは投稿済みのレビューだけです。"),
    ("No invitation made", "依頼を作成できませんでした"),
    ("Changes", "改善の記録"),
    ("What the shop changed because of feedback. Link complaints, requests, survey answers and reviews to a change; the customers who raised them are the segment raised(change: \"KEY\"), to be told with a campaign.", "お客様の声を受けてお店が改善したことの記録です。苦情・要望・アンケートの回答・レビューを改善に結び付けると、声を寄せたお客様がセグメント raised(change: \"KEY\") になり、キャンペーンでお知らせできます。"),
    ("No change recorded yet.", "記録された改善はまだありません。"),
    ("Since", "実施日"),
    ("Key", "キー"),
    ("Feedback", "お客様の声"),
    ("Record a change", "改善を記録する"),
    ("Tell these customers with a campaign to the segment {}.", "セグメント {} へのキャンペーンで、これらのお客様にお知らせできます。"),
    ("No feedback linked yet.", "結び付けられたお客様の声はまだありません。"),
    ("What they said", "お客様の声の内容"),
    ("Link feedback", "お客様の声を結び付ける"),
    ("Link", "結び付ける"),
    ("Unlink", "解除する"),
    ("An interaction's id is in its address; a survey answer is named by its invitation's id; a review by its id.", "対応履歴の ID はそのページのアドレスにあります。アンケートの回答は依頼の ID、レビューはレビューの ID で指定します。"),
    ("Answered by a change", "この声に応えた改善"),
    ("Not linked", "結び付けられませんでした"),
    ("Give the feedback's id as a number.", "お客様の声の ID を数字で入力してください。"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The English keys of every `.t("…")` and `.f("…"` call in the console's sources.
    fn keys_in_sources() -> Vec<String> {
        let mut keys = Vec::new();
        let console = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("console");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&console)
            .expect("the console's sources")
            .map(|e| e.expect("a console source").path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs") && !p.ends_with("i18n.rs"))
            .collect();
        files.push(console.with_file_name("audit.rs"));
        files.sort();
        for path in files {
            let source = std::fs::read_to_string(&path).expect("a console source");
            for call in [".t(", ".f(", ".plural("] {
                for piece in source.split(call).skip(1) {
                    // `.plural(` takes two literals, the others one.
                    let mut rest = piece;
                    for _ in 0..if call == ".plural(" { 2 } else { 1 } {
                        let Some(literal) = rest.trim_start().trim_start_matches(',').trim_start().strip_prefix('"')
                        else {
                            break;
                        };
                        let mut key = String::new();
                        let mut chars = literal.chars();
                        while let Some(c) = chars.next() {
                            match c {
                                '\\' => match chars.next() {
                                    Some('n') => key.push('\n'),
                                    Some(other) => key.push(other),
                                    None => {}
                                },
                                '"' => break,
                                _ => key.push(c),
                            }
                        }
                        keys.push(key);
                        rest = chars.as_str();
                    }
                }
            }
        }
        keys
    }

    /// Run-time vocabulary shown through `Tr::word`.
    fn words() -> Vec<String> {
        // Lifecycle stages have names of their own (console/names.rs), not words.
        let mut words: Vec<String> =
            enishi_analytics::rfm::Segment::ALL.iter().map(|s| s.label().to_string()).collect();
        words.extend(enishi_core::Role::ALL.iter().map(|s| s.as_str().to_string()));
        words.extend(enishi_core::ConsentStatus::ALL.iter().map(|s| s.as_str().to_string()));
        words.extend(enishi_core::ConsentChannel::ALL.iter().map(|s| s.as_str().to_string()));
        words.extend(enishi_core::InteractionKind::ALL.iter().map(|s| s.as_str().to_string()));
        words.extend(enishi_core::InteractionStatus::ALL.iter().map(|s| s.as_str().to_string()));
        words.extend(enishi_core::Channel::ALL.iter().map(|s| s.as_str().to_string()));
        words.extend(
            ["order", "return", "communication", "interaction", "event", "completed", "sent", "delivered", "opened"]
                .map(String::from),
        );
        words.extend(["clicked", "bounced", "failed"].map(String::from));
        // The points ledger's kinds and sources, and a merge, on a customer's timeline.
        words.extend(
            ["earn", "bonus", "redeem", "expire", "adjust", "reverse", "correction", "merge", "promotion", "referral"]
                .map(String::from),
        );
        words.extend(["birthday", "manual", "reward", "expiry", "repair"].map(String::from));
        words.extend(enishi_core::TaskKind::ALL.iter().map(|s| s.as_str().to_string()));
        words.extend(enishi_core::TaskStatus::ALL.iter().map(|s| s.as_str().to_string()));
        // Campaign states, why a customer was skipped, and what each merge field holds.
        words.extend(enishi_store::repo::campaigns::CampaignState::ALL.iter().map(|s| s.as_str().to_string()));
        words.extend(enishi_campaigns::audience::SKIP_REASONS.map(String::from));
        words.extend(enishi_campaigns::journeys::EXIT_REASONS.map(String::from));
        words.extend(enishi_campaigns::template::FIELDS.iter().map(|(_, meaning)| meaning.to_string()));
        words.push("task".to_string());
        words.push("survey".to_string());
        words.push("review".to_string());
        words.extend(enishi_segments::catalogue::LOYAL_CLASSES.map(String::from));
        words.extend(enishi_segments::catalogue::Family::ALL.iter().map(|f| f.name().to_string()));
        for p in enishi_segments::presets::presets(None) {
            words.push(p.name);
            words.push(p.description.to_string());
        }
        words.into_iter().map(|w| w.replace('_', " ").to_lowercase()).collect()
    }

    #[test]
    fn every_string_has_a_japanese_translation_and_every_translation_is_used() {
        let keys = keys_in_sources();
        assert!(keys.len() > 100, "the scan found the console's strings: {}", keys.len());
        let table = japanese();
        let missing: Vec<&String> = keys.iter().filter(|k| !table.contains_key(k.as_str())).collect();
        assert!(missing.is_empty(), "strings without a Japanese translation: {missing:#?}");
        let words = words();
        let missing: Vec<&String> = words.iter().filter(|k| !japanese_words().contains_key(*k)).collect();
        assert!(missing.is_empty(), "words without a Japanese translation: {missing:#?}");
        let unused: Vec<&&str> = table
            .keys()
            .filter(|k| !keys.iter().any(|x| x == **k) && !words.iter().any(|x| *x == k.to_lowercase()))
            .collect();
        assert!(unused.is_empty(), "translations nothing uses: {unused:#?}");
        assert_eq!(japanese_words().len(), JA.len(), "a string is translated twice (case aside)");
    }

    #[test]
    fn engine_messages_are_translated_field_paths_kept() {
        let ja = Tr(Language::Ja);
        let bad_amount = "two".parse::<enishi_core::Amount>().unwrap_err().0;
        assert_eq!(ja.message(&bad_amount), "'two' は金額ではありません（57.40 のような小数）");
        let doc = r#"{"name": "x", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1, "minimum_order": "-5"}}"#;
        let e = enishi_loyalty::Program::parse(doc, &enishi_core::BusinessClock::default()).unwrap_err().to_string();
        assert_eq!(ja.message(&e), "earning.minimum_order: 負の値にはできません", "{e}");
        let tz = enishi_core::BusinessClock::new("Mars/Olympus").unwrap_err().0;
        assert_eq!(ja.message(&tz), "'Mars/Olympus' は IANA のタイムゾーン名ではありません（例: Asia/Tokyo）");
        assert_eq!(
            ja.message("rules[2].bonus: must be between 1 and 100, not 400"),
            "rules[2].bonus: 1から100の間にしてください（400 ではなく）"
        );
        assert_eq!(ja.message("something new"), "something new", "unknown messages pass through");
        let odd = format!("'縁{}", "a".repeat(21));
        assert_eq!(ja.message(&odd), odd, "a template ending inside a multi-byte character is no match, not a panic");
        assert_eq!(
            ja.message("'縁' is not a whole numbeř"),
            "'縁' is not a whole numbeř",
            "multi-byte text never splits"
        );
        assert_eq!(Tr(Language::En).message("must not be negative"), "must not be negative");
        for (template, _) in MESSAGES {
            let sample = template.replace("{}", "7");
            assert!(translate_message(&sample).is_some_and(|j| !j.contains("{")), "{template}");
        }
    }

    #[test]
    fn values_fill_in_order_or_by_number() {
        assert_eq!(fill("{} of {}", &[&1, &2]), "1 of 2");
        assert_eq!(fill("{1}の{0}", &[&"a", &"b"]), "bのa");
        assert_eq!(fill("a {b} c", &[&1]), "a {b} c");
        assert_eq!(Tr(Language::Ja).word("At Risk"), "離反の恐れ");
    }
}
