//! Ledger rules as plain functions: how a refund is booked against the books its payment was credited to.

/// Splits a refund of `refund_fen` over the books a payment was credited to (`(book, fen)` each), in proportion
/// to what each book received: each book gets ⌊refund × its share / total⌋ fen, and the fen left over go one each
/// to the books with the largest remainders (ties: the order given). No book gets back more than it received, and
/// the parts always add up to the refund. Books with a zero part are left out. `None` when the refund is not
/// positive or exceeds the payment.
pub fn allocate_refund(refund_fen: i64, credited: &[(String, i64)]) -> Option<Vec<(String, i64)>> {
    let total: i64 = credited.iter().map(|(_, fen)| *fen).sum();
    if refund_fen <= 0 || refund_fen > total || credited.iter().any(|(_, fen)| *fen <= 0) {
        return None;
    }
    let mut parts: Vec<(usize, i64, i128)> = credited
        .iter()
        .enumerate()
        .map(|(i, (_, fen))| {
            let exact = i128::from(refund_fen) * i128::from(*fen);
            let whole = exact / i128::from(total);
            (i, i64::try_from(whole).unwrap_or(i64::MAX), exact % i128::from(total))
        })
        .collect();
    let mut left = refund_fen - parts.iter().map(|p| p.1).sum::<i64>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    // Largest remainder first; the stable sort keeps the given order among equals.
    order.sort_by(|&a, &b| parts[b].2.cmp(&parts[a].2));
    for i in order {
        if left == 0 {
            break;
        }
        parts[i].1 += 1;
        left -= 1;
    }
    Some(parts.into_iter().filter(|p| p.1 > 0).map(|(i, fen, _)| (credited[i].0.clone(), fen)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn books(v: &[(&str, i64)]) -> Vec<(String, i64)> {
        v.iter().map(|(b, f)| ((*b).to_owned(), *f)).collect()
    }

    #[test]
    fn one_book_takes_the_whole_refund() {
        assert_eq!(allocate_refund(500, &books(&[("community_income", 2234)])), Some(books(&[("community_income", 500)])));
        assert_eq!(allocate_refund(2234, &books(&[("community_income", 2234)])), Some(books(&[("community_income", 2234)])));
    }

    #[test]
    fn two_books_share_in_proportion_and_the_fen_add_up() {
        // 100 of 300 (1/3 community, 2/3 public): 33.33 and 66.67 → 33 + 67.
        let got = allocate_refund(100, &books(&[("community_income", 100), ("public_income", 200)])).unwrap();
        assert_eq!(got, books(&[("community_income", 33), ("public_income", 67)]));
        // Equal remainders: the first book named gets the odd fen.
        let got = allocate_refund(1, &books(&[("community_income", 50), ("public_income", 50)])).unwrap();
        assert_eq!(got, books(&[("community_income", 1)]));
        // Everything back: each book exactly what it received.
        let got = allocate_refund(15_000 + 22_337, &books(&[("community_income", 22_337), ("public_income", 15_000)])).unwrap();
        assert_eq!(got, books(&[("community_income", 22_337), ("public_income", 15_000)]));
    }

    #[test]
    fn parts_always_sum_to_the_refund_and_never_exceed_a_book() {
        for a in [1i64, 7, 99, 1000, 123_457] {
            for b in [1i64, 3, 50, 9999] {
                for refund in [1, a.min(b), a + b - 1, a + b, (a + b) / 2 + 1] {
                    let credited = books(&[("community_income", a), ("public_income", b)]);
                    let got = allocate_refund(refund, &credited).unwrap();
                    assert_eq!(got.iter().map(|p| p.1).sum::<i64>(), refund, "{a} {b} {refund}");
                    for (book, fen) in &got {
                        let had = credited.iter().find(|c| &c.0 == book).unwrap().1;
                        assert!(*fen > 0 && *fen <= had, "{a} {b} {refund}: {got:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn impossible_refunds_are_refused() {
        let credited = books(&[("community_income", 100)]);
        assert_eq!(allocate_refund(0, &credited), None);
        assert_eq!(allocate_refund(-5, &credited), None);
        assert_eq!(allocate_refund(101, &credited), None);
        assert_eq!(allocate_refund(1, &[]), None);
    }
}
