//! The names the console gives the scores' closed vocabularies. A lifecycle stage judges a
//! customer against their own buying rhythm, an RFM segment against the whole customer base,
//! so one customer can be in the RFM segment "At Risk" and in their usual rhythm at once: the
//! stages are named after the rhythm ("Long overdue") and never borrow a segment's words. Only
//! the names change; the stored codes (`at_risk`) stay as the API and segment rules know them.

use crate::console::i18n::Tr;
use enishi_analytics::rfm::Segment;

/// A lifecycle stage's name, from its stored code (`at_risk`).
pub(crate) fn stage_name(tr: Tr, code: &str) -> String {
    match code {
        "new" => tr.t("Newcomer"),
        "active" => tr.t("In rhythm"),
        "inactive" => tr.t("Later than usual"),
        "at_risk" => tr.t("Long overdue"),
        "lost" => tr.t("Gone quiet"),
        other => return tr.word(other),
    }
    .to_string()
}

/// An RFM segment's stored code (`cant_lose_them`).
pub(crate) fn segment_code(s: Segment) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// An RFM segment's name, from its stored code (`at_risk`) or its label (`At Risk`).
pub(crate) fn segment_name(tr: Tr, code: &str) -> String {
    let label =
        Segment::ALL.iter().find(|s| s.label() == code || segment_code(**s) == code).map_or(code, |s| s.label());
    tr.word(label)
}

/// A loyal class (`loyal`, `semi_loyal`, `other`) in words that RFM's "Loyal" segment cannot be
/// taken for (in Japanese RFM's is 常連, the class ロイヤル顧客).
pub(crate) fn loyal_class_name(tr: Tr, code: &str) -> String {
    match code {
        "loyal" => tr.t("Loyal customer").to_string(),
        "semi_loyal" => tr.t("Semi-loyal customer").to_string(),
        "other" => tr.t("Other customer").to_string(),
        other => tr.word(other),
    }
}

/// A language tag (`ja`, `en-GB`) as a language's name, or as written when the console has no
/// name for it.
pub(crate) fn language_name(tr: Tr, tag: &str) -> String {
    match tag.split(['-', '_']).next().map(str::to_ascii_lowercase).as_deref() {
        Some("ja") => tr.t("Japanese").to_string(),
        Some("en") => tr.t("English").to_string(),
        _ => tag.to_string(),
    }
}

/// Where a consent came from (`import`, `till:hana@example.com`, `join page, 2026-12-03
/// 14:05`), in words: the kind translated, the detail after it as recorded.
pub(crate) fn source_name(tr: Tr, source: &str) -> String {
    let kinds = [
        ("import", tr.t("Import")),
        ("till", tr.t("Till")),
        ("console", tr.t("Console")),
        ("join page", tr.t("Join page")),
        ("customer page", tr.t("Customer page")),
        ("unsubscribe link", tr.t("Unsubscribe link")),
    ];
    for (kind, name) in kinds {
        let Some(rest) = source.strip_prefix(kind) else { continue };
        let detail = rest.trim_start_matches([':', ',']).trim();
        if rest.is_empty() {
            return name.to_string();
        }
        if rest.starts_with([':', ',']) && !detail.is_empty() {
            return tr.f("{} ({})", &[&name, &detail]);
        }
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use enishi_core::Language;

    #[test]
    fn stages_segments_and_loyal_classes_never_share_a_name_in_either_language() {
        for tr in [Tr(Language::En), Tr(Language::Ja)] {
            let mut others: Vec<String> =
                enishi_analytics::lifecycle::Stage::ALL.iter().map(|s| stage_name(tr, s.as_str())).collect();
            others.extend(enishi_segments::catalogue::LOYAL_CLASSES.iter().map(|c| loyal_class_name(tr, c)));
            for s in Segment::ALL {
                let name = segment_name(tr, &segment_code(s));
                assert_eq!(name, segment_name(tr, s.label()));
                let folded = name.to_lowercase();
                assert!(
                    !others.iter().any(|o| o.to_lowercase() == folded),
                    "{name} is an RFM segment and a stage or loyal class"
                );
            }
        }
        assert_eq!(segment_name(Tr(Language::Ja), "loyal"), "常連");
        assert_eq!(loyal_class_name(Tr(Language::Ja), "loyal"), "ロイヤル顧客");
        assert_eq!(stage_name(Tr(Language::Ja), "at_risk"), "しばらくご無沙汰");
        assert_eq!(segment_name(Tr(Language::Ja), "at_risk"), "離反の恐れ");
        assert_eq!(segment_name(Tr(Language::Ja), "hibernating"), "休眠");
        assert_eq!(segment_name(Tr(Language::En), "cant_lose_them"), "Can't Lose Them");
    }

    #[test]
    fn languages_and_sources_read_as_words() {
        let ja = Tr(Language::Ja);
        assert_eq!(language_name(ja, "ja"), "日本語");
        assert_eq!(language_name(ja, "en-GB"), "英語");
        assert_eq!(language_name(ja, "fr"), "fr");
        assert_eq!(source_name(ja, "import"), "取り込み");
        assert_eq!(source_name(ja, "till:hana@example.com"), "レジ（hana@example.com）");
        assert_eq!(source_name(Tr(Language::En), "till:hana@example.com"), "Till (hana@example.com)");
        assert_eq!(source_name(ja, "unsubscribe link: 夏のセール"), "配信停止リンク（夏のセール）");
        assert_eq!(source_name(ja, "pos-7"), "pos-7");
        assert_eq!(source_name(ja, "imported"), "imported");
    }
}
