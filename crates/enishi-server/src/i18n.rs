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
    ("Lapsed customers most worth winning back", "呼び戻す価値の高い離反顧客"),
    ("Customer", "顧客"),
    ("Stage", "段階"),
    ("Silent", "購買なし"),
    ("At stake", "失われうる価値"),
    ("Lifecycle", "ライフサイクル"),
    ("Customers per lifecycle stage, new to lost", "ライフサイクル段階別の顧客数（新規から離脱まで）"),
    ("RFM segments", "RFMセグメント"),
    ("Customers per RFM segment", "RFMセグメント別の顧客数"),
    ("any", "すべて"),
    ("Customers", "顧客"),
    ("Search", "検索"),
    ("Name, email, phone or id", "名前、メール、電話番号、ID"),
    ("RFM segment", "RFMセグメント"),
    ("Id", "ID"),
    ("Name", "名前"),
    ("Email", "メール"),
    ("Orders", "注文数"),
    ("Spend", "購入額"),
    ("Last order", "最終購入"),
    ("No customer matches.", "該当する顧客はいません。"),
    ("Next page →", "次のページ →"),
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
    ("When", "日時"),
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
    ("Recorded order {}: earned {} points.", "注文 {} を記録しました。{}ポイント獲得。"),
    ("Recorded order {}.", "注文 {} を記録しました。"),
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
    ("Purchase not recorded", "購入は記録されませんでした"),
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
    ("Orders file", "注文ファイル"),
    ("Format", "形式"),
    ("Enishi CSV (docs/import.md)", "Enishi CSV（docs/import.md）"),
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
    ("Unknown format: choose Enishi CSV, JSON Lines, CDNOW or Online Retail II.", "不明な形式です。Enishi CSV、JSON Lines、CDNOW、Online Retail II から選んでください。"),
    ("Choose a file to import.", "取り込むファイルを選んでください。"),
    ("Recent imports", "最近の取り込み"),
    ("one purchase day: too early to tell", "購買日が1日のみ: まだ判断できません"),
    ("File", "ファイル"),
    ("Rows", "行数"),
    ("Orders created", "作成した注文"),
    ("Rows rejected", "除外した行"),
    ("Importing {}: {}% read.", "{} を取り込み中: {}% 読み込み済み。"),
    ("This page refreshes itself until the import is done; you may leave it and come back.", "取り込みが終わるまでこのページは自動で更新されます。離れて後で戻ってきても構いません。"),
    ("Rows not imported", "取り込まれなかった行"),
    ("API tokens", "APIトークン"),
    ("Role", "役割"),
    ("Label", "ラベル"),
    ("Create a token", "トークンを作成"),
    ("Created", "作成日"),
    ("Revoke", "失効"),
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
    ("revoked {}", "{}に失効"),
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
    ("Too many failed sign-ins for this email. Wait 15 minutes and try again.", "このメールでのログイン失敗が多すぎます。15分待ってからやり直してください。"),
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
    ("Not scored yet: the server scores customers once a day (or run `enishi analyze clv --store`).", "まだスコアがありません。サーバーは1日1回スコアを計算します（または `enishi analyze clv --store` を実行）。"),
    ("P(alive)", "P(生存)"),
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
    ("{}: {} rows read; {} orders, {} returns and {} customers created; {} already stored; {} rows rejected.", "{}: {}行を読み込み、注文{}件・返品{}件・顧客{}人を作成、{}件は登録済み、{}行を除外しました。"),
    ("{}: {} bad row(s); nothing was imported. Fix them, or tick “Import the good rows”.", "{}: 誤りのある行が{}行あるため、何も取り込んでいません。修正するか、「正しい行を取り込む」にチェックしてください。"),
    ("Thresholds frozen on {}: loyal = the top 7%, semi-loyal = the next 13% by spend, tenure and repeat purchases. Today {} customers meet them ({}%).", "{}に固定した基準: 購入額・継続期間・リピート回数で上位7%がロイヤル、次の13%が準ロイヤル。現在{}人が該当（{}%）。"),
    ("new", "新規"),
    ("active", "アクティブ"),
    ("enabled", "有効"),
    ("inactive", "休眠"),
    ("at risk", "離反の恐れ"),
    ("lost", "離脱"),
    ("champions", "チャンピオン"),
    ("loyal", "ロイヤル"),
    ("potential loyalist", "ロイヤル候補"),
    ("promising", "有望"),
    ("need attention", "要注意"),
    ("about to sleep", "休眠予備軍"),
    ("can't lose them", "失えない顧客"),
    ("hibernating", "冬眠"),
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
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The English keys of every `.t("…")` and `.f("…"` call in the console's sources.
    fn keys_in_sources() -> Vec<String> {
        let mut keys = Vec::new();
        for file in
            ["pages.rs", "console.rs", "shell.rs", "admin.rs", "analytics_pages.rs", "charts.rs", "import_pages.rs"]
        {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file);
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            for call in [".t(", ".f("] {
                for piece in source.split(call).skip(1) {
                    let Some(literal) = piece.trim_start().strip_prefix('"') else { continue };
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
                }
            }
        }
        keys
    }

    /// Run-time vocabulary shown through `Tr::word`.
    fn words() -> Vec<String> {
        let mut words: Vec<String> =
            enishi_analytics::lifecycle::Stage::ALL.iter().map(|s| s.as_str().to_string()).collect();
        words.extend(enishi_analytics::rfm::Segment::ALL.iter().map(|s| s.label().to_string()));
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
    fn values_fill_in_order_or_by_number() {
        assert_eq!(fill("{} of {}", &[&1, &2]), "1 of 2");
        assert_eq!(fill("{1}の{0}", &[&"a", &"b"]), "bのa");
        assert_eq!(fill("a {b} c", &[&1]), "a {b} c");
        assert_eq!(Tr(Language::Ja).word("at_risk"), "離反の恐れ");
    }
}
