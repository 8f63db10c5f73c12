//! Shared by the golden-fixture tests: a tiny JSON reader (no serde here) and an evaluator that
//! turns an entry name of prng_values.json into a call of the core.

#![allow(dead_code)]

use flaxen_core::prng::*;
use flaxen_core::Tensor;

pub const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/golden/prng_values.json"
);

// ---- a tiny JSON reader (no serde here): enough for the fixture files -----------------------

#[derive(Debug, Clone)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(m) => {
                &m.iter()
                    .find(|(n, _)| n == k)
                    .unwrap_or_else(|| panic!("no key {k}"))
                    .1
            }
            _ => panic!("not an object"),
        }
    }
    pub fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => panic!("not an array: {self:?}"),
        }
    }
    pub fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string"),
        }
    }
    pub fn num(&self) -> f64 {
        match self {
            Json::Num(v) => *v,
            Json::Bool(b) => *b as u8 as f64,
            _ => panic!("not a number: {self:?}"),
        }
    }
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s[self.i], c, "expected {:?} at {}", c as char, self.i);
        self.i += 1;
    }
    fn lit(&mut self, w: &str, v: Json) -> Json {
        assert!(self.s[self.i..].starts_with(w.as_bytes()));
        self.i += w.len();
        v
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = String::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return out,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            out.push(
                                char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap_or('?'),
                            );
                            self.i += 4;
                        }
                        other => out.push(other as char),
                    }
                }
                _ => {
                    // Copy a UTF-8 run as is.
                    let start = self.i - 1;
                    while self.i < self.s.len() && self.s[self.i] != b'"' && self.s[self.i] != b'\\'
                    {
                        self.i += 1;
                    }
                    out.push_str(std::str::from_utf8(&self.s[start..self.i]).unwrap());
                }
            }
        }
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    m.push((k, self.value()));
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b'}' {
                        return Json::Obj(m);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(v);
                }
                loop {
                    v.push(self.value());
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b']' {
                        return Json::Arr(v);
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b't' => self.lit("true", Json::Bool(true)),
            b'f' => self.lit("false", Json::Bool(false)),
            b'n' => self.lit("null", Json::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
                    )
                {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Num(t.parse().unwrap_or_else(|_| panic!("bad number {t}")))
            }
        }
    }
}

pub fn parse(text: &str) -> Json {
    P {
        s: text.as_bytes(),
        i: 0,
    }
    .value()
}

// ---- evaluating an entry name ------------------------------------------------------------------

/// Arguments inside the outermost parentheses of `name`, split at top-level commas.
fn args(name: &str) -> Vec<String> {
    let open = name.find('(').unwrap();
    let close = name.rfind(')').unwrap();
    let inner = &name[open + 1..close];
    let (mut out, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for ch in inner.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() || !out.is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// "key(42)" → key words.
fn key_of(s: &str) -> [u32; 2] {
    assert!(s.starts_with("key("), "not a key: {s}");
    key_from_seed(s[4..s.len() - 1].parse().unwrap())
}

/// "(2,3)" / "()" / "(5,)" / "3" → shape.
fn shape_of(s: &str) -> Vec<usize> {
    let t = s.trim_matches(|c| c == '(' || c == ')');
    t.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.trim().parse().unwrap())
        .collect()
}

/// Evaluates one fixture entry with the core. Returns (values, dtype name, shape, kind).
pub fn eval(name: &str) -> (Vec<f64>, &'static str, Vec<usize>, &'static str) {
    let keys = |ks: Vec<[u32; 2]>| {
        ks.iter()
            .flat_map(|k| [k[0] as f64, k[1] as f64])
            .collect::<Vec<_>>()
    };
    let t = |t: Tensor, kind| (t.to_f64_vec(), t.dtype().name(), t.shape().to_vec(), kind);
    if let Some(rest) = name.strip_suffix(" (5,)") {
        // "<dist> adler32 seed <seed>": the params of spec g.6.
        let mut it = rest.split_whitespace();
        let dist = it.next().unwrap();
        let seed: i64 = it.nth(2).unwrap().parse().unwrap();
        let k = key_from_seed(seed);
        return match dist {
            "uniform" => t(uniform(k, &[5], 0.0, 1.0), "uniform"),
            "normal" => t(normal(k, &[5]), "normal"),
            "truncated_normal" => t(truncated_normal(k, 0.0, 2.0, &[5]), "normal"),
            "randint" => t(randint(k, &[5], 0, 10), "exact"),
            _ => panic!("unknown {name}"),
        };
    }
    let func = &name[..name.find('(').unwrap()];
    let a = args(name);
    match func {
        "key" => (keys(vec![key_of(name)]), "uint32", vec![2], "exact"),
        "fold_in" => (
            keys(vec![fold_in(key_of(&a[0]), a[1].parse().unwrap())]),
            "uint32",
            vec![2],
            "exact",
        ),
        "split" => {
            let shape = shape_of(&a[1]);
            let n = shape.iter().product();
            let mut full = shape.clone();
            full.push(2);
            (keys(split(key_of(&a[0]), n)), "uint32", full, "exact")
        }
        "bits" => {
            let (shape_s, dt) = a[1]
                .split_once(") ")
                .map(|(s, d)| (format!("{s})"), d))
                .unwrap_or((a[1].clone(), ""));
            let dt = if dt.is_empty() {
                name.rsplit(' ').next().unwrap()
            } else {
                dt
            };
            let width = match dt {
                "uint8" => 8,
                "uint16" => 16,
                _ => 32,
            };
            t(
                random_bits(key_of(&a[0]), width, &shape_of(&shape_s)).unwrap(),
                "exact",
            )
        }
        "uniform" => {
            let (mut lo, mut hi) = (0.0, 1.0);
            for kw in &a[2..] {
                let (k, v) = kw.split_once('=').unwrap();
                match k {
                    "minval" => lo = v.parse().unwrap(),
                    "maxval" => hi = v.parse().unwrap(),
                    _ => panic!("{kw}"),
                }
            }
            t(uniform(key_of(&a[0]), &shape_of(&a[1]), lo, hi), "uniform")
        }
        "normal" => t(normal(key_of(&a[0]), &shape_of(&a[1])), "normal"),
        "truncated_normal" => {
            let (lo, hi) = (a[1].parse().unwrap(), a[2].parse().unwrap());
            t(
                truncated_normal(key_of(&a[0]), lo, hi, &shape_of(&a[3])),
                "normal",
            )
        }
        "randint" => {
            let (lo, hi) = (a[2].parse().unwrap(), a[3].parse().unwrap());
            t(randint(key_of(&a[0]), &shape_of(&a[1]), lo, hi), "exact")
        }
        "bernoulli" => t(
            bernoulli(key_of(&a[0]), a[1].parse().unwrap(), &shape_of(&a[2])),
            "exact",
        ),
        _ => panic!("no evaluator for {name}"),
    }
}
