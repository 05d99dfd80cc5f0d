"""Tagger v1 on hand-written messages as villagers and ศอช.ต members type them.

Each case gives the categories that must be found (a message may get at most one more, since
real messages touch neighbouring topics), the kind, and the village.
"""

from __future__ import annotations

import pytest

from bot.nlp import KeywordTagger, normalise

P, N, I = "problem", "need", "idea"  # noqa: E741

CASES: list[tuple[str, set[str], str, int | None]] = [
    # infrastructure
    ("ถนนหมู่ 3 เป็นหลุมเป็นบ่อ รถสัญจรลำบาก", {"infrastructure"}, P, 3),
    ("ไฟดับ", {"infrastructure"}, P, None),
    ("ไฟกิ่งหน้าวัดเสียมาเดือนนึงแล้ว มืดมากกกก", {"infrastructure"}, P, None),
    ("ขอให้ซ่อมถนนลูกรังเข้าหมู่๗ด้วยค่ะ ฝนตกทีไรเละทุกที", {"infrastructure"}, N, 7),
    (
        "สะพานไม้ข้ามคลองผุพัง เด็กเดินไปโรงเรียนอันตราย",
        {"infrastructure", "education", "safety"},
        P,
        None,
    ),
    ("ม.2 อยากได้ไฟส่องสว่างตามทางเข้าหมู่บ้าน", {"infrastructure"}, N, 2),
    ("สัญญาณโทรศัพท์บ่มีเลย โทรหาลูกบ่ได้", {"infrastructure"}, P, None),
    ("ท่อระบายน้ำอุดตัน น้ำขังหน้าบ้านทุกครั้งที่ฝนตก", {"infrastructure", "water"}, P, None),
    # water
    ("น้ำประปาไม่ไหลมา3วันแล้ว😭", {"infrastructure", "water"}, P, None),
    ("หน้าแล้งน้ำไม่พอทำนา อยากให้ขุดลอกคลองส่งน้ำ", {"water", "agriculture"}, N, None),
    ("น้ำท่วมนาข้าวหมู่ที่ ๔ ทุกปี", {"water", "agriculture"}, P, 4),
    ("บ่อบาดาลหมู่ห้าน้ำเค็ม กินบ่ได้", {"water"}, P, 5),
    ("ต้องการถังเก็บน้ำฝนสำหรับบ้านผู้สูงอายุ", {"water", "social"}, N, None),
    ("สระน้ำประจำหมู่บ้านตื้นเขิน เก็บน้ำไม่อยู่", {"water"}, P, None),
    ("ฝายชำรุด น้ำไหลหมด", {"water"}, P, None),
    # agriculture
    ("ปุ๋ยแพงมาก ราคาข้าวตกต่ำ ชาวนาขาดทุน", {"agriculture"}, P, None),
    ("เพลี้ยกระโดดลงนาข้าว เสียหายหลายไร่", {"agriculture"}, P, None),
    ("อยากให้มีโรงสีข้าวชุมชน", {"agriculture"}, N, None),
    ("เสนอให้ตั้งกลุ่มทำปุ๋ยหมักใช้เองในหมู่บ้าน", {"agriculture"}, I, None),
    ("วัวเป็นโรคปากเท้าเปื่อย ไม่มีหมอสัตว์มาดู", {"agriculture", "health"}, P, None),
    ("มันสำปะหลังราคาตก ข้าเจ้าบ่รู้จะขายไผ", {"agriculture"}, P, None),
    ("ขอเมล็ดพันธุ์ผักให้ชาวบ้านปลูกกินเอง", {"agriculture"}, N, None),
    # economy
    ("คนในหมู่บ้านตกงานเยอะ หลังโรงงานปิด", {"economy"}, P, None),
    ("หนี้นอกระบบดอกเบี้ยสูงมาก ชาวบ้านเดือดร้อน", {"economy"}, P, None),
    ("อยากให้มีการฝึกอาชีพเสริมให้แม่บ้าน", {"economy"}, N, None),
    ("ผลิตภัณฑ์โอทอปของกลุ่มทอผ้าขายไม่ได้ ไม่มีตลาด", {"economy"}, P, None),
    ("เสนอให้ทำโฮมสเตย์รับนักท่องเที่ยว", {"economy"}, I, None),
    ("กองทุนหมู่บ้านเงินไม่พอให้สมาชิกกู้", {"economy"}, P, None),
    ("ค่าครองชีพสูง ของแพงทุกอย่าง รายได้เท่าเดิม", {"economy"}, P, None),
    # health
    ("ยุงลายเยอะมาก ลูกเป็นไข้เลือดออก", {"health"}, P, None),
    ("รพ.สต. อยู่ไกล คนแก่ไปหาหมอลำบาก", {"health", "social"}, P, None),
    ("หมาจรจัดเยอะ กลัวโรคพิษสุนัขบ้า", {"health"}, P, None),
    ("ผู้ป่วยติดเตียงหมู่ 6 ไม่มีคนดูแล", {"health"}, P, 6),
    ("อสม.ขอชุดตรวจเบาหวานความดันเพิ่ม", {"health"}, N, None),
    ("คนเป็นเบาหวานเยอะขึ้นทุกปี", {"health"}, P, None),
    # social
    ("ยาบ้าระบาดในกลุ่มวัยรุ่นหมู่ 8", {"social"}, P, 8),
    ("ยายอยู่คนเดียว บ้านทรุดโทรม หลังคารั่ว", {"social"}, P, None),
    ("ต้องการเบี้ยคนพิการสำหรับลูกชายที่พิการ", {"social"}, N, None),
    ("เด็กแว้นมั่วสุมตอนกลางคืน เสียงดัง", {"social", "environment"}, P, None),
    ("ผู้สูงอายุในหมู่บ้านเหงา อยากให้มีชมรมผู้สูงอายุ", {"social"}, N, None),
    ("ครอบครัวยากไร้ไม่มีบ้านอยู่", {"social"}, P, None),
    # education
    ("ศูนย์พัฒนาเด็กเล็กไม่มีครูพอ", {"education"}, P, None),
    ("โรงเรียนจะถูกยุบ เด็กต้องไปเรียนไกล", {"education"}, P, None),
    ("อยากให้มีรถรับส่งนักเรียน", {"education"}, N, None),
    ("เสนอให้จัดงานบุญประเพณีประจำปีให้คนรุ่นใหม่สืบสาน", {"education"}, I, None),
    ("วัดทรุดโทรม ขอสนับสนุนงบซ่อมศาลาการเปรียญ", {"education"}, N, None),
    ("ปราชญ์ชาวบ้านเรื่องสมุนไพรไม่มีคนสืบทอด", {"education"}, P, None),
    # environment
    ("ขยะเกลื่อนตลาดนัด ส่งกลิ่นเหม็นมากกกก🤢", {"environment", "economy"}, P, None),
    ("เผาอ้อยควันเต็มหมู่บ้าน หายใจไม่ออก", {"environment", "agriculture"}, P, None),
    ("ฟาร์มหมูปล่อยน้ำเสียลงคลอง", {"environment", "water"}, P, None),
    ("ป่าชุมชนถูกบุกรุกตัดไม้", {"environment"}, P, None),
    ("อยากได้ถังขยะแยกประเภทไว้ทุกซอย", {"environment", "infrastructure"}, N, None),
    ("ฝุ่นPM2.5หนักมากช่วงหน้าหนาว", {"environment"}, P, None),
    # safety
    ("ขโมยเข้าบ้านบ่อย ขอติดกล้องวงจรปิดทางเข้าหมู่บ้าน", {"safety", "infrastructure"}, N, None),
    ("ทางแยกหน้าโรงเรียนรถชนบ่อย ไม่มีป้ายเตือน", {"safety", "education"}, P, None),
    ("วัยรุ่นแข่งรถตอนกลางคืน อันตรายมาก", {"safety", "social"}, P, None),
    ("ไฟไหม้บ้านแล้วรถดับเพลิงมาช้า", {"safety"}, P, None),
    ("ชาวบ้านโดนแก๊งคอลเซ็นเตอร์หลอกโอนเงิน", {"safety", "economy"}, P, None),
    # governance
    ("ประชุมหมู่บ้านไม่ค่อยมีใครมา ข่าวสารไม่ทั่วถึง", {"governance"}, P, None),
    ("อบต.ไม่ค่อยมาดูแลหมู่บ้านเรา", {"governance"}, P, None),
    ("อยากให้ผู้ใหญ่บ้านแจ้งข่าวผ่านหอกระจายข่าวทุกเย็น", {"governance", "infrastructure"}, N, None),
    ("งบประมาณโครงการไม่โปร่งใส ชาวบ้านไม่รู้ข้อมูล", {"governance"}, P, None),
    ("เสนอให้ตั้งคณะกรรมการหมู่บ้านดูแลเรื่องแผนชุมชน", {"governance"}, I, None),
    # several problems in one message, dialect, odd spacing and typos
    (
        "ถนนพัง น้ำก็ไม่ไหล ขยะก็เยอะ เฮาเดือดร้อนหลาย",
        {"infrastructure", "water", "environment"},
        P,
        None,
    ),
    ("หมู่ 10 ไฟฟ้าดับบ่อย และยาเสพติดระบาด", {"infrastructure", "social"}, P, 10),
    ("บ้านหนองแก ถนน  เป็น  หลุม", {"infrastructure"}, P, 4),
    ("ยุงเยอะะะะ ไข้เลือดออกกก", {"health"}, P, None),
]

VILLAGES = {1: "บ้านท่าตะโก", 4: "บ้านหนองแก", 6: "บ้านดอนคา"}


def test_enough_varied_cases() -> None:
    assert len(CASES) >= 60
    covered = set().union(*(gold for _, gold, _, _ in CASES))
    assert covered == set(KeywordTagger().categories)


@pytest.mark.parametrize(
    ("text", "gold", "kind", "village"), CASES, ids=[c[0][:24] for c in CASES]
)
def test_tagging(
    tagger: KeywordTagger, text: str, gold: set[str], kind: str, village: int | None
) -> None:
    tags = tagger.tag(text, VILLAGES)
    predicted = set(tags.categories)
    assert gold <= predicted, f"missing {gold - predicted}"
    assert len(predicted - gold) <= 1, f"too many: {predicted - gold}"
    assert tags.kind == kind
    assert tags.village == village


@pytest.mark.parametrize(
    ("text", "village"),
    [
        ("หมู่ 5 น้ำท่วม", 5),
        ("ม.5 น้ำท่วม", 5),
        ("ม. 12 น้ำท่วม", 12),
        ("หมู่ที่ ๕ น้ำท่วม", 5),
        ("หมู่บ้านที่ 9 น้ำท่วม", 9),
        ("หมู่สิบเอ็ดน้ำท่วม", 11),
        ("ถนนหมู่สามพังมาก", 3),
        ("ประชุมเดือน ม.ค. นี้", None),
        ("ขายหมู 5 ตัว", None),
        ("บ้านดอนคาน้ำท่วม", 6),
    ],
)
def test_village_extraction(tagger: KeywordTagger, text: str, village: int | None) -> None:
    assert tagger.village(text, VILLAGES) == village


def test_normalise() -> None:
    assert normalise("มากกกกก") == "มาก"
    assert normalise("หมู่ ๑๒") == "หมู่ 12"
    assert normalise("  ไฟ   ดับ ") == "ไฟ ดับ"
    assert normalise("\u0e40\u0e40ปลก") == "\u0e41ปลก"
    assert normalise("นำ้ประปา") == "น้ำประปา"  # sara am typed before the tone mark
    assert normalise("ไฟฟ้้า") == "ไฟฟ้า"  # a tone mark typed twice
    assert normalise("ถนน\u200bพัง") == "ถนนพัง"  # zero-width space from a copied message
    assert normalise("ถนนเปนหลุม") == "ถนนเป็นหลุม"  # a common slip, from misspellings.toml
    assert normalise("ไข้เลือกออกกก") == "ไข้เลือดออก"


def test_lexicon_keywords_are_single_tokens(tagger: KeywordTagger) -> None:
    assert "น้ำประปา" in tagger.tokenize("น้ำประปาไม่ไหล")
    assert "ไฟดับ" in tagger.tokenize("ไฟดับทั้งคืน")
