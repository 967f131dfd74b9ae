use super::*;
use std::io::Read;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn opts() -> ValidateOptions {
    ValidateOptions::new(today())
}

fn run(csv: &[u8]) -> Result<SalesValidation, SalesFileError> {
    validate(csv, opts())
}

fn rows(csv: &[u8]) -> Vec<RowResult> {
    SalesReader::new(csv, opts())
        .unwrap()
        .map(|i| i.unwrap())
        .collect()
}

const HEAD: &str = "store_id,sale_date,receipt_id,sku,product_name,quantity,unit_price,total\n";

/// The one error of a file with HEAD and the given single data line.
fn err_of(line: &str) -> RowError {
    let csv = format!("{HEAD}{line}\n");
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!(s.rows_rejected, 1, "{line}: {s:?}");
    s.errors.into_iter().next().unwrap()
}

fn ok_of(line: &str) -> SalesRow {
    let csv = format!("{HEAD}{line}\n");
    let mut r = rows(csv.as_bytes());
    assert_eq!(r.len(), 1);
    r.remove(0).unwrap_or_else(|e| panic!("{line}: {e:?}"))
}

#[test]
fn a_valid_row_with_every_column() {
    let r = ok_of("S1,2026-11-23,R1,789-1,Café,\"1,250\",\"10,00\",\"12,50\"");
    assert_eq!(r.store_id, "S1");
    assert_eq!(r.sale_date, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
    assert_eq!(r.receipt_id.as_deref(), Some("R1"));
    assert_eq!(r.sku, "789-1");
    assert_eq!(r.product_name.as_deref(), Some("Café"));
    assert_eq!(r.quantity.thousandths(), 1250);
    assert_eq!(r.unit_price.cents(), 1000);
    assert_eq!(r.total.unwrap().cents(), 1250);
    assert_eq!(r.line, 2);
    assert_eq!(r.revenue_cents(), 1250);
}

#[test]
fn optional_columns_may_be_absent_or_empty() {
    let s = run(b"sku,store_id,sale_date,quantity,unit_price\nA,S,2026-01-01,1,0\n").unwrap();
    assert_eq!((s.rows_total, s.rows_valid), (1, 1));
    let r = ok_of("S1,2026-11-23,,A,,2,1.50,");
    assert_eq!(
        (&r.receipt_id, &r.product_name, r.total),
        (&None, &None, None)
    );
    assert_eq!(r.revenue_cents(), 300);
}

#[test]
fn portuguese_headers_any_order_any_case_and_ignored_columns() {
    let csv = "Preço Unitário; QUANTIDADE ;Código;Data;Loja;Cupom;Produto;Total;Operador\n\
               1.234,56;0,5;A1;23/11/2026;L1;C9;Pão;617,28;Ana\n";
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!(s.delimiter, ';');
    assert_eq!(s.ignored_columns, vec!["Operador".to_owned()]);
    assert_eq!((s.rows_valid, s.rows_rejected), (1, 0), "{s:?}");
    let r = rows(csv.as_bytes()).remove(0).unwrap();
    assert_eq!(r.unit_price.cents(), 123_456);
    assert_eq!(r.quantity.thousandths(), 500);
}

#[test]
fn header_problems_reject_the_file() {
    assert!(matches!(run(b""), Err(SalesFileError::Empty)));
    assert!(matches!(
        run(b"\xEF\xBB\xBF \r\n"),
        Err(SalesFileError::Empty)
    ));
    assert!(matches!(run(HEAD.as_bytes()), Err(SalesFileError::NoRows)));
    assert!(matches!(
        run(format!("{HEAD},,,\n,,,,,,,\n\n").as_bytes()),
        Err(SalesFileError::NoRows)
    ));
    match run(b"store_id,sku,quantity\nS,A,1\n") {
        Err(SalesFileError::MissingColumns(m)) => assert_eq!(m, vec!["sale_date", "unit_price"]),
        other => panic!("{other:?}"),
    }
    match run(b"store_id,loja,sale_date,sku,quantity,unit_price\n") {
        Err(e @ SalesFileError::DuplicateColumn { .. }) => {
            assert_eq!(e.code(), "duplicate-column");
            assert!(e.to_string().contains("store_id"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        run(b"\xFF\xFEs\0t\0"),
        Err(SalesFileError::UnsupportedEncoding(_))
    ));
}

#[test]
fn binary_garbage_is_refused() {
    let mut garbage = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..100_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push((x >> 16) as u8);
    }
    let e = run(&garbage).unwrap_err();
    assert!(
        matches!(
            e,
            SalesFileError::NotText | SalesFileError::MissingColumns(_)
        ),
        "{e:?}"
    );
    assert!(matches!(
        run(b"\0\0\0\0PK\x03\x04"),
        Err(SalesFileError::NotText)
    ));
}

#[test]
fn bom_crlf_and_lf() {
    let csv = "\u{FEFF}store_id,sale_date,sku,quantity,unit_price\r\nS,2026-01-01,A,1,1\r\nS,2026-01-02,B,1,1\n";
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!((s.rows_valid, s.rows_rejected), (2, 0), "{s:?}");
    let r = rows(csv.as_bytes());
    assert_eq!(r[0].as_ref().unwrap().line, 2);
    assert_eq!(r[1].as_ref().unwrap().line, 3);
    // blank lines, CR-only ends: line numbers stay those of the file
    let csv = "store_id,sale_date,sku,quantity,unit_price\r\n\r\nS,2026-01-01,A,1,1\r\rS,2026-01-01,B,x,1\n\nS,2026-01-01,C,x,1\r\n";
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!(
        s.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        vec![3, 5]
    );
}

#[test]
fn windows_1252_is_detected_and_converted_or_refused() {
    let csv = b"loja;data;codigo;produto;quantidade;preco_unitario\nS;2026-01-01;A;P\xE3o de a\xE7\xFAcar;1;1,00\n";
    let s = run(csv).unwrap();
    assert_eq!(s.encoding, DetectedEncoding::Windows1252);
    let r = rows(csv).remove(0).unwrap();
    assert_eq!(r.product_name.as_deref(), Some("Pão de açúcar"));
    let utf8 = run(b"sku,store_id,sale_date,quantity,unit_price\nA,S,2026-01-01,1,0\n").unwrap();
    assert_eq!(utf8.encoding, DetectedEncoding::Utf8);
    let mut o = opts();
    o.encoding = EncodingPolicy::Utf8Only;
    let s = validate(&csv[..], o).unwrap();
    assert_eq!(s.errors[0].code, "bad-encoding");
    assert_eq!(s.errors[0].column, Some("product_name"));
}

#[test]
fn quoted_fields_per_rfc_4180() {
    let r = ok_of("S,2026-01-01,R,A,\"Vinho \"\"Tinto\"\", 750 ml\",1,\"1,234.50\",");
    assert_eq!(r.product_name.as_deref(), Some("Vinho \"Tinto\", 750 ml"));
    assert_eq!(r.unit_price.cents(), 123_450);
    // A quoted field may span lines, but a line break is a control character; the
    // next record's line number accounts for it.
    let csv = format!("{HEAD}S,2026-01-01,R,A,\"two\nlines\",1,1,\nS,2026-01-01,R,B,P,1,1,\n");
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!(
        (s.errors[0].code, s.errors[0].line),
        ("control-character", 2)
    );
    assert_eq!(rows(csv.as_bytes())[1].as_ref().unwrap().line, 4);
}

#[test]
fn every_row_rule_has_its_code() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("S,2026-01-01,R,A,P,1,1", None, "bad-field-count"),
        ("S,2026-01-01,R,A,P,1,1,1,1", None, "bad-field-count"),
        (",2026-01-01,R,A,P,1,1,", Some("store_id"), "missing"),
        ("S,,R,A,P,1,1,", Some("sale_date"), "missing"),
        ("S,2026-01-01,R,,P,1,1,", Some("sku"), "missing"),
        ("S,2026-01-01,R,A,P,,1,", Some("quantity"), "missing"),
        ("S,2026-01-01,R,A,P,1,,", Some("unit_price"), "missing"),
        (
            "loja 1,2026-01-01,R,A,P,1,1,",
            Some("store_id"),
            "bad-format",
        ),
        ("S,2026-01-01,R,a/b,P,1,1,", Some("sku"), "bad-format"),
        (
            "S,2026-01-01,R,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,P,1,1,",
            Some("sku"),
            "bad-format",
        ),
        ("S,31/02/2026,R,A,P,1,1,", Some("sale_date"), "bad-date"),
        ("S,2026-13-01,R,A,P,1,1,", Some("sale_date"), "bad-date"),
        ("S,yesterday,R,A,P,1,1,", Some("sale_date"), "bad-date"),
        ("S,02/12/2026,R,A,P,1,1,", Some("sale_date"), "future-date"),
        ("S,31/12/1999,R,A,P,1,1,", Some("sale_date"), "date-too-old"),
        ("S,2026-01-01,R,A,P,-2,1,", Some("quantity"), "not-positive"),
        ("S,2026-01-01,R,A,P,0,1,", Some("quantity"), "not-positive"),
        (
            "S,2026-01-01,R,A,P,1.2345,1,",
            Some("quantity"),
            "too-many-decimals",
        ),
        ("S,2026-01-01,R,A,P,abc,1,", Some("quantity"), "bad-number"),
        (
            "S,2026-01-01,R,A,P,99999999,1,",
            Some("quantity"),
            "too-large",
        ),
        ("S,2026-01-01,R,A,P,1,-1,", Some("unit_price"), "negative"),
        (
            "S,2026-01-01,R,A,P,1,0.999,",
            Some("unit_price"),
            "too-many-decimals",
        ),
        (
            "S,2026-01-01,R,A,P,1,1e3,",
            Some("unit_price"),
            "bad-number",
        ),
        (
            "S,2026-01-01,R,A,P,1,2000000000,",
            Some("unit_price"),
            "too-large",
        ),
        (
            "S,2026-01-01,R,A,P,2,1.50,3.02",
            Some("total"),
            "total-mismatch",
        ),
        ("S,2026-01-01,R,A,P,1,1,-1", Some("total"), "negative"),
        (
            "S,2026-01-01,R,A,P\u{7},1,1,",
            Some("product_name"),
            "control-character",
        ),
        (
            "S,2026-01-01,R,A,P\0,1,1,",
            Some("product_name"),
            "control-character",
        ),
        (
            "S,2026-01-01,R\tX,A,P,1,1,",
            Some("receipt_id"),
            "control-character",
        ),
    ];
    for (line, column, code) in cases {
        let e = err_of(line);
        assert_eq!((e.column, e.code), (*column, *code), "{line}: {e:?}");
        assert_eq!(e.line, 2);
        assert!(!e.message.is_empty());
    }
    let long_name = format!("S,2026-01-01,R,A,{},1,1,", "é".repeat(201));
    assert_eq!(err_of(&long_name).code, "too-long");
    assert!(ok_of(&format!("S,2026-01-01,R,A,{},1,1,", "é".repeat(200)))
        .product_name
        .is_some());
    let long_receipt = format!("S,2026-01-01,{},A,P,1,1,", "9".repeat(65));
    assert_eq!(err_of(&long_receipt).code, "too-long");
    // boundaries that pass
    ok_of("S,2026-12-01,R,A,P,1,1,");
    ok_of("S,01/01/2000,R,A,P,1,1,");
    ok_of("S,2026-01-01,R,A,P,0.001,0,0");
    ok_of("S,2026-01-01,R,A,P,3,0.33,1.00"); // 0.99 vs 1.00: within one cent
    ok_of("S,2026-01-01,R,A,P,1.5,\"1,99\",2.99"); // 2.985 rounds either way
    assert_eq!(
        err_of("S,2026-01-01,R,A,P,3,0.33,1.01").code,
        "total-mismatch"
    );
}

#[test]
fn semicolon_files_with_comma_decimals() {
    let csv = "loja;data;cupom;codigo;quantidade;preco_unitario;total\n\
               S;23/11/2026;1;A;0,755;12,90;9,74\n\
               S;23/11/2026;1;B;2;1.299,00;2.598,00\n";
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!((s.rows_valid, s.rows_rejected), (2, 0), "{s:?}");
    let r = rows(csv.as_bytes());
    assert_eq!(r[0].as_ref().unwrap().quantity.thousandths(), 755);
    assert_eq!(r[1].as_ref().unwrap().unit_price.cents(), 129_900);
}

#[test]
fn duplicates_need_a_receipt() {
    let csv = format!(
        "{HEAD}S,2026-01-01,R1,A,P,1,1,\nS,2026-01-01,R1,B,P,1,1,\nS,2026-01-01,R2,A,P,1,1,\nS,2026-01-01,R1,A,Q,2,1,\nS,2026-01-01,,A,P,1,1,\nS,2026-01-01,,A,P,1,1,\n"
    );
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!((s.rows_total, s.rows_valid, s.rows_rejected), (6, 5, 1));
    assert_eq!(s.errors[0].code, "duplicate-line");
    assert_eq!(s.errors[0].line, 5);
    assert!(s.duplicate_check_complete);
}

#[test]
fn the_duplicate_set_is_capped() {
    let mut csv = HEAD.to_owned();
    for i in 0..10 {
        csv.push_str(&format!("S,2026-01-01,R{i},A,P,1,1,\n"));
    }
    csv.push_str("S,2026-01-01,R0,A,P,1,1,\n"); // remembered: caught
    csv.push_str("S,2026-01-01,R9,A,P,1,1,\n"); // past the cap: missed
    let mut o = opts();
    o.max_duplicate_keys = 5;
    let s = validate(csv.as_bytes(), o).unwrap();
    assert_eq!((s.rows_valid, s.rows_rejected), (11, 1));
    assert!(!s.duplicate_check_complete);
}

#[test]
fn formula_text_is_accepted_as_data() {
    let r = ok_of("S,2026-01-01,R,A,=cmd|' /C calc'!A0,1,1,");
    assert_eq!(r.product_name.as_deref(), Some("=cmd|' /C calc'!A0"));
}

#[test]
fn mixed_delimiters_give_bad_field_count() {
    let csv =
        "store_id;sale_date;sku;quantity;unit_price\nS;2026-01-01;A;1;1\nS,2026-01-01,B,1,1\n";
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!((s.rows_valid, s.rows_rejected), (1, 1));
    assert_eq!((s.errors[0].code, s.errors[0].line), ("bad-field-count", 3));
    assert_eq!(s.errors[0].raw, "S,2026-01-01,B,1,1");
}

#[test]
fn unbalanced_quotes_are_a_file_error_with_the_line() {
    let csv = format!(
        "{HEAD}S,2026-01-01,R,A,P,1,1,\nS,2026-01-01,R,B,\"open,1,1,\nS,2026-01-01,R,C,P,1,1,\n"
    );
    let mut r = SalesReader::new(csv.as_bytes(), opts()).unwrap();
    assert!(r.next().unwrap().unwrap().is_ok());
    match r.next() {
        Some(Err(SalesFileError::UnbalancedQuote { line })) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
    assert!(r.next().is_none());
    assert!(matches!(
        run(csv.as_bytes()),
        Err(SalesFileError::UnbalancedQuote { line: 3 })
    ));
}

#[test]
fn raw_text_is_bounded_and_rejected_rows_keep_their_reason() {
    let name = "x".repeat(5000);
    let e = err_of(&format!("S,2026-01-01,R,A,{name},1,1,"));
    assert_eq!(e.code, "too-long");
    assert_eq!(e.raw.chars().count(), MAX_RAW_CHARS);
    assert!(e.to_string().starts_with("line 2: product_name:"));
}

#[test]
fn errors_are_counted_all_but_kept_first_n() {
    let mut csv = HEAD.to_owned();
    for _ in 0..250 {
        csv.push_str("S,2026-01-01,R,A,P,-1,1,\n");
    }
    csv.push_str("S,2026-01-01,R,A,P,1,1,\n");
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!((s.rows_total, s.rows_valid, s.rows_rejected), (251, 1, 250));
    assert_eq!(s.errors.len(), MAX_KEPT_ERRORS);
    assert_eq!(s.errors[99].line, 101);
    assert_eq!(
        s.date_range,
        Some((
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        ))
    );
}

/// Yields `len` bytes of `fill` after `prefix`, never holding them.
struct Endless {
    prefix: Vec<u8>,
    pos: usize,
    left: u64,
    fill: u8,
    read_total: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = (self.prefix.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            self.read_total += n as u64;
            return Ok(n);
        }
        let n = (self.left.min(buf.len() as u64)) as usize;
        buf[..n].fill(self.fill);
        self.left -= n as u64;
        self.read_total += n as u64;
        Ok(n)
    }
}

const HUNDRED_MB: u64 = 100 * 1024 * 1024;

#[test]
fn a_huge_line_is_refused_without_reading_it_all() {
    // A 100 MB data line: refused once the limit is passed, long before the end.
    let mut src = Endless {
        prefix: format!("{HEAD}S,2026-01-01,R,A,P,1,1,\n").into_bytes(),
        pos: 0,
        left: HUNDRED_MB,
        fill: b'a',
        read_total: 0,
    };
    let e = validate(&mut src, opts()).unwrap_err();
    assert!(
        matches!(
            e,
            SalesFileError::RecordTooLong {
                line: 3,
                limit: MAX_RECORD_BYTES
            }
        ),
        "{e:?}"
    );
    assert!(
        src.read_total < 4 * MAX_RECORD_BYTES as u64,
        "read {}",
        src.read_total
    );
    // A 100 MB header line.
    let mut src = Endless {
        prefix: Vec::new(),
        pos: 0,
        left: HUNDRED_MB,
        fill: b'a',
        read_total: 0,
    };
    let e = validate(&mut src, opts()).unwrap_err();
    assert!(
        matches!(e, SalesFileError::RecordTooLong { line: 1, .. }),
        "{e:?}"
    );
    assert!(src.read_total < 4 * MAX_RECORD_BYTES as u64);
    // An open quote followed by 100 MB of lines: one record spanning them, refused.
    let mut src = Endless {
        prefix: format!("{HEAD}S,2026-01-01,R,A,\"P").into_bytes(),
        pos: 0,
        left: HUNDRED_MB,
        fill: b'\n',
        read_total: 0,
    };
    let e = validate(&mut src, opts()).unwrap_err();
    assert!(
        matches!(e, SalesFileError::RecordTooLong { line: 2, .. }),
        "{e:?}"
    );
    assert!(src.read_total < 4 * MAX_RECORD_BYTES as u64);
}

#[test]
fn many_short_lines_are_fine_and_limits_are_per_record() {
    let mut csv = HEAD.to_owned();
    for i in 0..20_000 {
        csv.push_str(&format!("S,2026-01-01,R{i},A,P,1,1,\n"));
    }
    assert!(csv.len() > 4 * MAX_RECORD_BYTES);
    let s = run(csv.as_bytes()).unwrap();
    assert_eq!(s.rows_valid, 20_000);
    // just under the limit passes the guard (then fails a field rule)
    let mut o = opts();
    o.max_record_bytes = 200;
    let near = format!("{HEAD}S,2026-01-01,R,A,{},1,1,\n", "x".repeat(150));
    assert_eq!(validate(near.as_bytes(), o.clone()).unwrap().rows_valid, 1);
    let over = format!("{HEAD}S,2026-01-01,R,A,{},1,1,\n", "x".repeat(250));
    assert!(matches!(
        validate(over.as_bytes(), o),
        Err(SalesFileError::RecordTooLong {
            line: 2,
            limit: 200
        })
    ));
}

#[test]
fn reader_errors_surface_as_io() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            self.0 -= 1;
            let line = format!("{HEAD}S,2026-01-01,R,A,P,1,1,\n");
            let n = line.len().min(buf.len());
            buf[..n].copy_from_slice(&line.as_bytes()[..n]);
            Ok(n)
        }
    }
    let e = validate(Failing(1), opts()).unwrap_err();
    assert!(matches!(e, SalesFileError::Io(_)), "{e:?}");
    assert_eq!(e.code(), "io");
}

/// The shape of a public supermarket export: its own headers, month-first dates,
/// totals with 5 % tax at four decimals, columns KCL does not use.
const EXPORT: &str = "Invoice ID,Branch,City,Customer type,Gender,Product line,Unit price,Quantity,Tax 5%,Total,Date,Time,Payment,cogs,gross margin percentage,gross income,Rating\n\
750-67-8428,A,Yangon,Member,Female,Health and beauty,74.69,7,26.1415,548.9715,1/5/2019,13:08,Ewallet,522.83,4.761904762,26.1415,9.1\n\
226-31-3081,C,Naypyitaw,Normal,Female,Electronic accessories,15.28,5,3.82,80.22,3/8/2019,10:29,Cash,76.4,4.761904762,3.82,9.6\n\
631-41-3108,A,Yangon,Normal,Male,Home and lifestyle,46.33,7,16.2155,340.5255,3/3/2019,13:23,Credit card,324.31,4.761904762,16.2155,7.4\n\
123-19-1176,A,Yangon,Member,Male,Health and beauty,58.22,8,23.288,489.048,1/27/2019,20:33,Ewallet,465.76,4.761904762,23.288,8.4\n";

const EXPORT_MAPPING: &str =
    "store_id:Branch,sku:Product line,product_name:Product line,sale_date:Date,receipt_id:Invoice ID";

fn export_opts(date_order: Option<&str>, tax: Option<&str>) -> ValidateOptions {
    let mut o = opts();
    o.format = SalesFormat::parse(Some(EXPORT_MAPPING), date_order, tax).unwrap();
    o
}

#[test]
fn an_export_is_refused_without_a_mapping_and_named_columns_in_the_message() {
    let e = run(EXPORT.as_bytes()).unwrap_err();
    assert_eq!(e.code(), "missing-column");
    assert!(e.to_string().contains("store_id, sale_date, sku"), "{e}");
    assert!(e.to_string().contains("column mapping"), "{e}");
}

#[test]
fn an_export_loads_with_a_mapping_a_date_order_and_its_tax_rate() {
    let mut reader =
        SalesReader::new(EXPORT.as_bytes(), export_opts(Some("mdy"), Some("5"))).unwrap();
    let rows: Vec<SalesRow> = (&mut reader).map(|r| r.unwrap().unwrap()).collect();
    let s = reader.into_summary();
    assert_eq!((s.rows_total, s.rows_valid), (4, 4), "{:?}", s.errors);
    assert_eq!(s.date_order, Some(DateOrder::Mdy));
    assert!(
        s.ignored_columns.contains(&"City".to_owned()),
        "{:?}",
        s.ignored_columns
    );
    assert!(s.ignored_columns.contains(&"Tax 5%".to_owned()));
    let r = &rows[0];
    assert_eq!(r.store_id, "A");
    assert_eq!(r.sku, "Health-and-beauty");
    assert_eq!(r.product_name.as_deref(), Some("Health and beauty"));
    assert_eq!(r.receipt_id.as_deref(), Some("750-67-8428"));
    assert_eq!(r.sale_date, NaiveDate::from_ymd_opt(2019, 1, 5).unwrap());
    // 548.9715 rounds to 548.97; 7 x 74.69 = 522.83 before tax.
    assert_eq!(r.revenue_cents(), 54_897);
    assert_eq!(r.tax_cents, 2_614);
    assert_eq!(
        rows[3].sale_date,
        NaiveDate::from_ymd_opt(2019, 1, 27).unwrap()
    );
    assert_eq!(rows[3].revenue_cents(), 48_905); // 489.048
}

#[test]
fn without_the_tax_rate_a_taxed_total_is_a_mismatch() {
    let s = validate(EXPORT.as_bytes(), export_opts(Some("mdy"), None)).unwrap();
    assert_eq!(s.rows_valid, 0);
    assert!(
        s.errors
            .iter()
            .all(|e| e.code == "too-many-decimals" || e.code == "total-mismatch"),
        "{:?}",
        s.errors
    );
    let wrong = validate(EXPORT.as_bytes(), export_opts(Some("mdy"), Some("7"))).unwrap();
    assert_eq!(wrong.rows_valid, 0);
    assert_eq!(wrong.errors[0].code, "total-mismatch");
    assert!(
        wrong.errors[0].message.contains("7%"),
        "{}",
        wrong.errors[0].message
    );
}

#[test]
fn a_tax_rate_without_a_total_computes_the_tax() {
    let mut o = opts();
    o.format = SalesFormat::parse(None, None, Some("10")).unwrap();
    let csv = "store_id,sale_date,sku,quantity,unit_price\nS1,23/11/2026,A,3,3.33\n";
    let mut r = SalesReader::new(csv.as_bytes(), o).unwrap();
    let row = r.next().unwrap().unwrap().unwrap();
    // 9.99 before tax, 0.999 tax rounds to 1.00.
    assert_eq!((row.revenue_cents(), row.tax_cents), (1_099, 100));
}

#[test]
fn a_mapping_without_a_date_order_is_refused_on_a_date_that_reads_both_ways() {
    let e = validate(EXPORT.as_bytes(), export_opts(None, Some("5"))).unwrap_err();
    assert_eq!(e.code(), "ambiguous-date-order");
    assert!(
        e.to_string().contains("line 2") && e.to_string().contains("1/5/2019"),
        "{e}"
    );
    // A date that reads one way only, first, decides the order for the rest.
    let decided = EXPORT.replacen("1/5/2019", "1/25/2019", 1);
    let s = validate(decided.as_bytes(), export_opts(None, Some("5"))).unwrap();
    assert_eq!((s.rows_valid, s.date_order), (4, Some(DateOrder::Mdy)));
}

#[test]
fn a_date_order_alone_reads_kcl_files_month_first() {
    let mut o = opts();
    o.format = SalesFormat::parse(None, Some("mdy"), None).unwrap();
    let csv =
        "store_id,sale_date,sku,quantity,unit_price\nS1,11/23/2026,A,1,1\nS1,23/11/2026,A,1,1\n";
    let s = validate(csv.as_bytes(), o).unwrap();
    assert_eq!((s.rows_valid, s.rows_rejected), (1, 1));
    assert_eq!(s.errors[0].code, "bad-date");
    assert!(
        s.errors[0].message.contains("23/11/2026 is not a day"),
        "{}",
        s.errors[0].message
    );
    // Without one, today's files keep reading day first.
    assert_eq!(
        run(b"store_id,sale_date,sku,quantity,unit_price\nS1,1/5/2019,A,1,1\n")
            .unwrap()
            .date_range
            .unwrap()
            .0,
        NaiveDate::from_ymd_opt(2019, 5, 1).unwrap()
    );
}

#[test]
fn a_mapping_naming_a_header_the_file_lacks_is_a_file_error() {
    let mut o = opts();
    o.format = SalesFormat::parse(Some("store_id:Loja Nome"), None, None).unwrap();
    let e = validate(format!("{HEAD}S1,2026-11-23,,A,,1,1,\n").as_bytes(), o).unwrap_err();
    assert_eq!(e.code(), "missing-column");
    assert!(e.to_string().contains("`Loja Nome`"), "{e}");
}

#[test]
fn a_mapped_column_wins_over_kcl_name_and_two_headers_for_one_column_are_refused() {
    // `store_id` is mapped to `Branch`: the file's own `store_id` column is ignored.
    let mut o = opts();
    o.format = SalesFormat::parse(Some("store_id:Branch"), None, None).unwrap();
    let csv = "store_id,Branch,sale_date,sku,quantity,unit_price\nX,B1,2026-11-23,A,1,1\n";
    let mut r = SalesReader::new(csv.as_bytes(), o.clone()).unwrap();
    assert_eq!(r.next().unwrap().unwrap().unwrap().store_id, "B1");
    assert_eq!(r.summary().ignored_columns, vec!["store_id".to_owned()]);
    let twice = "Branch,branch,sale_date,sku,quantity,unit_price\nB1,B2,2026-11-23,A,1,1\n";
    let e = validate(twice.as_bytes(), o).unwrap_err();
    assert_eq!(e.code(), "duplicate-column");
}

#[test]
fn bad_formats_are_refused_with_their_field() {
    for (c, d, t, field, code) in [
        (Some("shop:Branch"), None, None, "columns", "bad-columns"),
        (Some("store_id"), None, None, "columns", "bad-columns"),
        (
            Some("store_id:A,store_id:B"),
            None,
            None,
            "columns",
            "bad-columns",
        ),
        (Some("store_id:"), None, None, "columns", "bad-columns"),
        (None, Some("y-m-d"), None, "date_order", "bad-date-order"),
        (None, None, Some("-5"), "tax_rate", "bad-tax-rate"),
        (None, None, Some("five"), "tax_rate", "bad-tax-rate"),
        (None, None, Some("100.001"), "tax_rate", "bad-tax-rate"),
    ] {
        let e = SalesFormat::parse(c, d, t).unwrap_err();
        assert_eq!((e.field, e.code), (field, code), "{c:?} {d:?} {t:?}");
    }
    assert_eq!(TaxRate::parse("100").unwrap().basis_points(), 10_000);
    assert_eq!(TaxRate::parse("0").unwrap().to_string(), "0%");
}

#[test]
fn profiles_pick_the_longest_prefix_and_refuse_bad_entries() {
    use std::collections::BTreeMap;
    let spec = |prefix: &str, order: Option<&str>| SalesProfileSpec {
        prefix: prefix.into(),
        columns: BTreeMap::from([("store_id".to_owned(), "Branch".to_owned())]),
        date_order: order.map(str::to_owned),
        tax_rate: Some(TaxRateSpec::Number(5.0)),
    };
    let p = SalesProfiles::new(BTreeMap::from([
        ("all".to_owned(), spec("sales/incoming/", None)),
        ("us".to_owned(), spec("sales/incoming/us/", Some("mdy"))),
    ]))
    .unwrap();
    assert_eq!(p.for_key("sales/incoming/us/jan.csv").unwrap().name, "us");
    assert_eq!(p.for_key("sales/incoming/br/jan.csv").unwrap().name, "all");
    assert!(p.for_key("other/jan.csv").is_none());
    let e = SalesProfiles::new(BTreeMap::from([("x".to_owned(), spec("a/", Some("dym")))]))
        .unwrap_err();
    assert_eq!(e.code, "bad-profile");
    assert!(e.message.contains("profile `x`"), "{}", e.message);
    let e = SalesProfiles::new(BTreeMap::from([
        ("x".to_owned(), spec("a/", None)),
        ("y".to_owned(), spec("a/", None)),
    ]))
    .unwrap_err();
    assert!(e.message.contains("same prefix"), "{}", e.message);
}

#[test]
fn a_mapping_without_sale_date_keeps_day_first_dates() {
    let mut o = opts();
    o.format = SalesFormat::parse(Some("store_id:Filial"), None, None).unwrap();
    let csv = "Filial;data;codigo;quantidade;preco_unitario\nF1;05/01/2026;A;1;1\n";
    let s = validate(csv.as_bytes(), o).unwrap();
    assert_eq!(s.rows_valid, 1, "{:?}", s.errors);
    assert_eq!(
        s.date_range.unwrap().0,
        NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
    );
    assert_eq!(s.date_order, Some(DateOrder::Dmy));
}
