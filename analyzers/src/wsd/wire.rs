//! A small tolerant XML tokenizer for SOAP-over-UDP: start tags, end tags and text, with
//! namespace prefixes stripped. It never trusts lengths, never recurses, and stops at
//! `max_tokens`; comments, processing instructions and DOCTYPEs are skipped, CDATA is
//! text. It is not a validating parser: WS-Discovery needs a handful of element texts.

use memchr::{memchr, memmem};

/// One token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token<'a> {
    /// A start tag's local name (prefix removed). Self-closing tags give Start then End.
    Start(&'a [u8]),
    End(&'a [u8]),
    /// Raw text between tags (entities not decoded; see [`unescape`]).
    Text(&'a [u8]),
}

/// How a scan ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanEnd {
    /// A tag, comment or CDATA section ran past the end of the input, or elements were left
    /// open.
    pub truncated: bool,
    /// `max_tokens` reached before the end.
    pub capped: bool,
}

fn local(name: &[u8]) -> &[u8] {
    match memchr(b':', name) {
        Some(i) => name.get(i + 1..).unwrap_or_default(),
        None => name,
    }
}

/// End of a start tag: the index of its closing `>`, skipping quoted attribute values.
fn tag_end(b: &[u8], from: usize) -> Option<usize> {
    let mut quote = None;
    let mut i = from;
    while let Some(&c) = b.get(i) {
        match (quote, c) {
            (None, b'"' | b'\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, b'>') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Tokenizes `b`, calling `f` for each token; at most `max_tokens` tokens.
pub fn scan<'a>(b: &'a [u8], max_tokens: usize, mut f: impl FnMut(Token<'a>)) -> ScanEnd {
    let mut end = ScanEnd::default();
    let mut depth = 0usize;
    let mut seen_element = false;
    let mut at = 0usize;
    let mut tokens = 0usize;
    let mut emit = |t: Token<'a>, end: &mut ScanEnd, f: &mut dyn FnMut(Token<'a>)| -> bool {
        if tokens >= max_tokens {
            end.capped = true;
            return false;
        }
        tokens += 1;
        f(t);
        true
    };
    while at < b.len() {
        let rest = b.get(at..).unwrap_or_default();
        let Some(lt) = memchr(b'<', rest) else {
            let t = rest;
            if depth > 0 && !t.iter().all(u8::is_ascii_whitespace) {
                emit(Token::Text(t), &mut end, &mut f);
            }
            break;
        };
        if lt > 0 {
            let t = rest.get(..lt).unwrap_or_default();
            if depth > 0 && !emit(Token::Text(t), &mut end, &mut f) {
                return end;
            }
        }
        let tag = rest.get(lt..).unwrap_or_default();
        let skip_to = |pat: &[u8], from: usize| {
            memmem::find(tag.get(from..)?, pat).map(|i| from + i + pat.len())
        };
        let consumed = if tag.starts_with(b"<?") {
            skip_to(b"?>", 2)
        } else if tag.starts_with(b"<!--") {
            skip_to(b"-->", 4)
        } else if tag.starts_with(b"<![CDATA[") {
            match skip_to(b"]]>", 9) {
                Some(n) => {
                    let t = tag.get(9..n - 3).unwrap_or_default();
                    if !emit(Token::Text(t), &mut end, &mut f) {
                        return end;
                    }
                    Some(n)
                }
                None => None,
            }
        } else if tag.starts_with(b"<!") {
            tag_end(tag, 2).map(|i| i + 1)
        } else if tag.starts_with(b"</") {
            match tag_end(tag, 2) {
                Some(i) => {
                    let name = tag.get(2..i).unwrap_or_default().trim_ascii();
                    depth = depth.saturating_sub(1);
                    if !emit(Token::End(local(name)), &mut end, &mut f) {
                        return end;
                    }
                    Some(i + 1)
                }
                None => None,
            }
        } else {
            match tag_end(tag, 1) {
                Some(i) => {
                    let inner = tag.get(1..i).unwrap_or_default();
                    let self_closing = inner.last() == Some(&b'/');
                    let name_end = inner
                        .iter()
                        .position(|c| c.is_ascii_whitespace() || *c == b'/')
                        .unwrap_or(inner.len());
                    let name = local(inner.get(..name_end).unwrap_or_default());
                    seen_element = true;
                    if !emit(Token::Start(name), &mut end, &mut f) {
                        return end;
                    }
                    if self_closing {
                        if !emit(Token::End(name), &mut end, &mut f) {
                            return end;
                        }
                    } else {
                        depth += 1;
                    }
                    Some(i + 1)
                }
                None => None,
            }
        };
        match consumed {
            Some(n) => at += lt + n,
            None => {
                end.truncated = true;
                return end;
            }
        }
    }
    if depth > 0 || !seen_element {
        end.truncated = true;
    }
    end
}

/// Decodes the five predefined XML entities and numeric character references; anything
/// else is kept as is.
pub fn unescape(t: &[u8]) -> String {
    let s = String::from_utf8_lossy(t);
    if !s.contains('&') {
        return s.into_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = &*s;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i..).unwrap_or_default();
        let semi = after.find(';').filter(|j| *j <= 10);
        let ent = semi.and_then(|j| after.get(1..j));
        let ch = match ent {
            Some("amp") => Some('&'),
            Some("lt") => Some('<'),
            Some("gt") => Some('>'),
            Some("quot") => Some('"'),
            Some("apos") => Some('\''),
            Some(e) if e.starts_with("#x") => {
                u32::from_str_radix(e.get(2..).unwrap_or_default(), 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            Some(e) if e.starts_with('#') => e
                .get(1..)
                .unwrap_or_default()
                .parse()
                .ok()
                .and_then(char::from_u32),
            _ => None,
        };
        match (ch, semi) {
            (Some(c), Some(j)) => {
                out.push(c);
                rest = after.get(j + 1..).unwrap_or_default();
            }
            _ => {
                out.push('&');
                rest = after.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}
