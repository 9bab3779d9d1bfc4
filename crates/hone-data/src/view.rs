//! Which part of a text the model reads, chosen before tokenization.
//!
//! `Raw` is the text as given. `Email` parses each text as an RFC 822
//! message (with `mail-parser`: MIME parts, base64 and quoted-printable
//! decoded, HTML converted to text) and keeps `Subject`, `From` and the
//! readable body. A raw SpamAssassin message spends its first 100–300
//! tokens on the mbox envelope and `Received:` relay headers — with a
//! 128-token budget the model never sees the subject or the start of the
//! body. A text that does not parse as a message with headers is kept as
//! it is, so the view is safe on plain lines (what `hone predict` reads).
//!
//! `EmailHeaders` adds, in about 30 tokens, the headers a bag of words finds
//! most telling apart from the relay chain: the recipient, the day the
//! message was sent, the domain of its `Message-ID` and the mailer that
//! wrote it. Measured with TF-IDF + logistic regression on the first 126
//! MiniLM tokens of each SpamAssassin message (5-fold cross-validation over
//! all 6,046; `benches/text_views/spam_views_tfidf.py`), this view leaves
//! 75 messages wrong against 94 for `Email`; all headers of the raw
//! message, unbounded, leave 60 — the `Received:` chain alone 112, but it
//! runs to hundreds of tokens.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// How texts are turned into what the tokenizer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextView {
    #[default]
    Raw,
    Email,
    EmailHeaders,
}

impl std::str::FromStr for TextView {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "raw" => Ok(Self::Raw),
            "email" => Ok(Self::Email),
            "email-headers" => Ok(Self::EmailHeaders),
            o => Err(format!(
                "unknown text view {o:?} (expected raw, email or email-headers)"
            )),
        }
    }
}

impl TextView {
    /// What the tokenizer reads of `text`.
    pub fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self {
            TextView::Raw => Cow::Borrowed(text),
            TextView::Email => email_readable(text, false).map_or(Cow::Borrowed(text), Cow::Owned),
            TextView::EmailHeaders => {
                email_readable(text, true).map_or(Cow::Borrowed(text), Cow::Owned)
            }
        }
    }
}

/// `Subject: … From: … <body>` of a message (with `headers`, also `To`,
/// `Date`, `Message-ID` domain and `Mailer` lines before the body), or
/// `None` when `raw` has no header block with a `Subject` or `From`.
pub fn email_readable(raw: &str, headers: bool) -> Option<String> {
    // An mbox envelope line ("From sender date", no colon) precedes the
    // headers in mailbox dumps; it is not a header.
    let message = match raw.strip_prefix("From ") {
        Some(rest) => rest.split_once('\n').map_or("", |(_, after)| after),
        None => raw,
    };
    // Without a `Name: value` first line there is no header block to parse.
    let first = message.lines().next()?;
    let (name, _) = first.split_once(':')?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let parsed = mail_parser::MessageParser::default().parse(message.as_bytes())?;
    let subject = parsed.subject();
    let from = parsed.from().and_then(|f| f.first());
    if subject.is_none() && from.is_none() {
        return None;
    }
    let mut out = String::new();
    if let Some(subject) = subject {
        out.push_str("Subject: ");
        out.push_str(subject);
        out.push('\n');
    }
    if let Some(from) = from {
        out.push_str("From: ");
        if let Some(name) = from.name() {
            out.push_str(name);
            out.push(' ');
        }
        if let Some(address) = from.address() {
            out.push_str(address);
        }
        out.push('\n');
    }
    if headers {
        push_routing_headers(&parsed, &mut out);
    }
    for i in 0..parsed.text_body_count() {
        if let Some(body) = parsed.body_text(i) {
            out.push_str(&body);
            out.push('\n');
        }
    }
    Some(out)
}

/// The recipient's address, the sending day (`6 Aug 2002`: the time of day
/// and zone would spend tokens on digits), the `Message-ID` domain and the
/// mailer, each on its own line when the message has it.
fn push_routing_headers(parsed: &mail_parser::Message<'_>, out: &mut String) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if let Some(to) = parsed
        .to()
        .and_then(|t| t.first())
        .and_then(|a| a.address())
    {
        out.push_str(&format!("To: {to}\n"));
    }
    if let Some(date) = parsed.date() {
        let month = MONTHS.get(usize::from(date.month).wrapping_sub(1));
        if let Some(month) = month {
            out.push_str(&format!("Date: {} {month} {}\n", date.day, date.year));
        }
    }
    if let Some((_, domain)) = parsed.message_id().and_then(|id| id.rsplit_once('@')) {
        out.push_str(&format!("Message-ID: {domain}\n"));
    }
    let mailer = ["X-Mailer", "User-Agent"]
        .into_iter()
        .find_map(|name| parsed.header_raw(name))
        .map(|raw| raw.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|m| !m.is_empty());
    if let Some(mailer) = mailer {
        out.push_str(&format!("Mailer: {mailer}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = "From list-admin@example.org  Tue Aug  6 11:52:20 2002\n\
        Return-Path: <list-admin@example.org>\n\
        Received: from relay (relay [10.0.0.1])\n\tby mx with ESMTP id 42\n\
        From: Ann Example <ann@example.org>\n\
        Subject: =?utf-8?q?Caf=C3=A9_tonight?=\n\
        Content-Type: text/plain; charset=utf-8\n\
        Content-Transfer-Encoding: quoted-printable\n\
        \n\
        Meet at the caf=C3=A9 at nine.\n";

    #[test]
    fn an_email_becomes_subject_sender_and_decoded_body() {
        let view = TextView::Email.apply(MESSAGE);
        assert!(view.starts_with("Subject: Café tonight\n"), "{view}");
        assert!(
            view.contains("From: Ann Example ann@example.org\n"),
            "{view}"
        );
        assert!(view.contains("Meet at the café at nine."), "{view}");
        for relay in ["Received", "Return-Path", "ESMTP", "11:52:20"] {
            assert!(!view.contains(relay), "{relay} kept: {view}");
        }
    }

    #[test]
    fn the_headers_view_adds_recipient_day_message_id_domain_and_mailer() {
        let message = MESSAGE.replace(
            "Subject:",
            "To: Bob <bob@example.net>\n\
             Date: Tue, 6 Aug 2002 06:48:17 -0400\n\
             Message-ID: <20020806.42@mx.example.org>\n\
             X-Mailer: Example   Mail 1.0\n\
             Subject:",
        );
        let view = TextView::EmailHeaders.apply(&message);
        let head = "Subject: Café tonight\nFrom: Ann Example ann@example.org\n\
                    To: bob@example.net\nDate: 6 Aug 2002\nMessage-ID: mx.example.org\n\
                    Mailer: Example Mail 1.0\nMeet at the café at nine.";
        assert!(view.starts_with(head), "{view}");
        for relay in ["Received", "Return-Path", "06:48", "20020806"] {
            assert!(!view.contains(relay), "{relay} kept: {view}");
        }
        // A header the message lacks is left out, not written empty.
        let bare = TextView::EmailHeaders.apply(MESSAGE);
        assert_eq!(bare, TextView::Email.apply(MESSAGE));
    }

    #[test]
    fn an_html_only_body_is_read_as_text() {
        let html = "From: a@b.c\nSubject: Offer\nContent-Type: text/html\n\n\
                    <html><body><p>Buy <b>now</b></p></body></html>\n";
        let view = TextView::Email.apply(html);
        assert!(view.contains("Buy"), "{view}");
        assert!(view.contains("now"), "{view}");
        assert!(!view.contains("<b>"), "{view}");
    }

    #[test]
    fn plain_text_and_the_raw_view_are_unchanged() {
        for text in [
            "the superb film, brilliant too",
            "",
            "a: b c",
            "From here on",
        ] {
            assert_eq!(TextView::Email.apply(text), text);
            assert_eq!(TextView::EmailHeaders.apply(text), text);
        }
        assert_eq!(TextView::Raw.apply(MESSAGE), MESSAGE);
        assert_eq!("email".parse::<TextView>(), Ok(TextView::Email));
        assert_eq!(
            "email-headers".parse::<TextView>(),
            Ok(TextView::EmailHeaders)
        );
        assert!(
            "mime"
                .parse::<TextView>()
                .unwrap_err()
                .contains("raw, email or email-headers")
        );
        // Saved model configs name the view as the command line does.
        assert_eq!(
            serde_json::to_string(&TextView::EmailHeaders).unwrap(),
            "\"email-headers\""
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_gets_a_view_without_panicking(text in "\\PC*", headers in "(From|Subject|X): [ -~]{0,20}\n") {
            let _ = TextView::Email.apply(&text);
            let _ = TextView::Email.apply(&format!("{headers}{text}"));
            let _ = TextView::EmailHeaders.apply(&format!("{headers}{text}"));
        }
    }
}
