"""Polarity of a short clause from sentiment words and negation: "包装没有破损" is praise.

Whole reviews are read by the classifier; a clause of four to eight characters ("尺码标准",
"物流不是很快") gives it too little to go on, and it gets negation of a negative word wrong.
Here the clause is scanned left to right for the longest known word at each position:
sentiment words add +1/−1, flipped by each negator seen since the last sentiment word
(没有破损 → +1, 不是很快 → −1, 一点都不贵 → +1). The sum's sign is the clause's polarity; 0 means
"no opinion found", and the caller falls back to the classifier. Idioms that contain a negator
(没得说, 无可挑剔, 没毛病) are words of their own, so the longest match keeps them whole, and so
are neutral words that merely contain a sentiment character (快递, 好几天, 差不多). A negation
reaches at most two characters ahead: in "没几天就变形了" 没 qualifies 几天, not 变形.
"""

from __future__ import annotations

POSITIVE = (
    "好", "很好", "不错", "满意", "喜欢", "快", "很快", "及时", "耐心", "热情", "周到", "精美", "精致", "精细",
    "严实", "完好", "结实", "扎实", "厚实", "舒服", "舒适", "柔软", "合适", "合身", "标准", "准", "实惠", "便宜",
    "划算", "值", "超值", "值得", "给力", "好看", "漂亮", "新鲜", "好吃", "清晰", "整齐", "细致", "温和", "推荐",
    "赞", "棒", "完美", "靠谱", "正品", "没得说", "无可挑剔", "没毛病", "一流", "干净", "安全", "好用", "神速",
    "挺好", "还行", "还可以", "可以", "放心", "惊喜", "物超所值", "物美价廉", "满分", "好评", "五星", "回购",
    "顺滑", "流畅", "耐用", "香", "正", "强", "稳", "性价比高", "性价比很高",
)
NEGATIVE = (
    "差", "很差", "慢", "太慢", "破", "破损", "坏", "烂", "粗糙", "贵", "偏贵", "偏大", "偏小", "太大", "太小",
    "失望", "后悔", "垃圾", "假", "假货", "异味", "臭", "刺鼻", "掉色", "褪色", "色差", "线头", "开线", "起球",
    "变形", "漏", "压坏", "简陋", "敷衍", "爱答不理", "过敏", "受潮", "怪", "难吃", "发霉", "过期", "瑕疵", "脏",
    "旧", "二手", "亏", "降价", "坑", "骗", "一般", "一般般", "薄", "硬", "吵", "卡顿", "发热", "差评", "退货",
    "退款", "糟糕", "恶心", "难用", "不值", "鸡肋", "缩水", "破洞", "残次", "劣质", "山寨", "刺痒", "磨脚",
    "性价比低", "性价比不高", "不怎么样", "不良",
)
NEGATORS = ("不", "没", "没有", "无", "不是", "别", "未", "并不", "毫无", "不太", "不怎么", "一点也不", "一点都不",
            "不够")
NEUTRAL = ("快递", "快递员", "好几", "好像", "只好", "正好", "不过", "不管", "无论", "正在", "真正", "反正", "差不多",
           "不少", "不一样", "不同", "没想到", "强烈")
NEGATION_REACH = 2  # at most this many characters between a negator and the word it qualifies

_WORDS: dict[str, int | None] = {**{w: 1 for w in POSITIVE}, **{w: -1 for w in NEGATIVE},
                                 **{w: 0 for w in NEGATORS}, **{w: None for w in NEUTRAL}}
# For each first character, the lengths of the words starting with it, longest first.
_SIZES: dict[str, list[int]] = {}
for _word in _WORDS:
    _SIZES.setdefault(_word[0], []).append(len(_word))
_SIZES = {first: sorted(set(sizes), reverse=True) for first, sizes in _SIZES.items()}


def clause_polarity(clause: str) -> int:
    """Sum of the clause's sentiment words, each flipped by the negators just before it (see above)."""
    total, negations, negation_end, i, n = 0, 0, 0, 0, len(clause)
    while i < n:
        sizes = _SIZES.get(clause[i])
        word = None
        if sizes:
            word = next((clause[i:i + size] for size in sizes if clause[i:i + size] in _WORDS), None)
        if word is None:
            i += 1
            continue
        value = _WORDS[word]
        if i - negation_end > NEGATION_REACH:
            negations = 0
        if value == 0:
            negations, negation_end = negations + 1, i + len(word)
        elif value is not None:
            total += value * (-1) ** negations
            negations = 0
        i += len(word)
    return total
