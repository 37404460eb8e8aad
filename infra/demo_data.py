"""Synthetic Tmall/Taobao demo shop, written in the real export formats.

The shop has a known ground truth (per-item price elasticity, weekly and yearly
seasonality, promotions, a pv -> fav/cart -> buy funnel, review sentiment and
aspects, stock-outs), saved next to the data in ``ground_truth.json``, so tests
can check that a model recovers what was put in.

Pure module: numpy and pandas only; no Flask, no SQL, no network, no clock.
Every random draw comes from ``numpy.random.default_rng(seed)`` (one spawned
stream per stage), so the same seed, scale and end date give byte-identical
files.

Example
-------
>>> from infra.demo_data import generate
>>> summary = generate("var/demo", seed=42, scale=0.1)   # doctest: +SKIP
>>> summary["files"]["订单报表.csv"]                       # doctest: +SKIP
2990
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from shared.calendar import LUNAR_YEARS, spring_festival

ProgressFn = Callable[[float, str], None]

# --------------------------------------------------------------------------------------------
# Shop-wide constants
# --------------------------------------------------------------------------------------------

SHOP_ID = "57300921"
SHOP_NAME = "shopmind演示旗舰店"
TIMEZONE = "Asia/Shanghai"
UTC_OFFSET_SECONDS = 8 * 3600
DAY_SECONDS = 86400
EPOCH = date(1970, 1, 1)

ORDER_COLUMNS = (
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额",
    "买家实际支付金额", "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系电话",
    "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "物流公司",
    "订单备注", "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "是否手机订单",
)
ORDER_ITEM_COLUMNS = (
    "订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注",
    "订单状态", "商家编码",
)
PRODUCT_COLUMNS = ("item_id", "title", "category", "brand", "price", "cost", "status", "created_at",
                   "attributes")
CUSTOMER_COLUMNS = ("user_id", "province", "city", "gender", "age_band", "registered_at")
REVIEW_COLUMNS = ("review_id", "item_id", "user_id", "rating", "text", "created_at")
INVENTORY_COLUMNS = ("item_id", "date", "on_hand", "on_order", "lead_time_days")
COMPETITOR_COLUMNS = ("item_id", "competitor", "price", "observed_at")

STATUS_COMPLETED = "交易成功"
STATUS_SHIPPED = "卖家已发货，等待买家确认"
STATUS_PAID = "买家已付款，等待卖家发货"
STATUS_PENDING = "等待买家付款"
STATUS_CLOSED = "交易关闭"
STATUS_REFUNDED = "退款成功"  # line status of a refunded order in 宝贝报表
REFUND_REASON = "退款"
STATUS_MAPPING = {
    STATUS_COMPLETED: "completed",
    STATUS_SHIPPED: "shipped",
    STATUS_PAID: "paid",
    STATUS_PENDING: "pending",
    STATUS_CLOSED: "closed (refunded when 订单关闭原因 == 退款)",
    STATUS_REFUNDED: "refunded",
}

# Demand, funnel and review knobs that are part of the published ground truth.
WEEKLY = np.array([1.02, 0.97, 0.95, 0.95, 0.98, 1.04, 1.09])
WEEKLY = WEEKLY / WEEKLY.mean()
HOURLY = np.array([2.0, 1.2, 0.6, 0.3, 0.2, 0.2, 0.4, 0.9, 1.6, 2.5, 3.2, 3.3,
                   3.0, 2.8, 2.9, 3.0, 3.0, 2.9, 3.0, 3.6, 4.3, 4.8, 4.6, 3.4])
EXTRA_QTY_MEAN = 0.25  # units per line = 1 + Poisson(EXTRA_QTY_MEAN)
MEAN_QTY = 1.0 + EXTRA_QTY_MEAN
P_NEW_ORDER = 0.7  # chance that a line starts a new order (orders hold 1-3 lines)
SHARE_UNPAID_CLOSED = 0.10
SHARE_REFUNDED = 0.03
SHARE_MOBILE = 0.80
POSTAGE_THRESHOLD, POSTAGE_FEE = 49.0, 6.0
PEAK_COUPON = (300.0, 30.0)  # 每满300减30 on peak days
SHOP_COUPON = (199.0, 10.0, 0.10)  # 满199减10, used by 10% of eligible orders
FUNNEL = {
    "purchase_session": {"pv_per_session": 1.6, "p_cart": 0.5, "p_fav": 0.1},
    "browse_session": {"pv_per_session": 1.5, "p_cart": 0.08, "p_fav": 0.05},
}



@dataclass(frozen=True)
class CategorySpec:
    """One product category: how many items, their prices, seasonality and vocabulary."""

    name: str
    category_id: int
    weight: int  # items per 200
    price_range: tuple[float, float]
    elasticity_mean: float
    yearly_amplitude: float
    yearly_peak_doy: int
    sized: bool  # reviews may talk about 尺码
    brands: tuple[str, ...]
    template: str  # {year} {season} {brand} {p0} {p1} {p2}
    parts: tuple[tuple[str, ...], ...]
    sku: tuple[tuple[str, tuple[str, ...]], ...]
    extra_attributes: tuple[tuple[str, tuple[str, ...]], ...]
    quality_phrases: tuple[tuple[str, ...], tuple[str, ...]]  # (positive, negative)


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "女装", 1623573, 40, (79, 399), -2.0, 0.35, 300, True, ("拾光", "素野", "栖木", "暖阳里"),
        "{year}{season}新款{p0}{p1}{p2}女",
        (("韩版", "法式", "复古", "简约", "气质", "小众设计感", "通勤", "温柔风"),
         ("宽松", "修身", "显瘦", "高腰", "中长款", "短款"),
         ("针织毛衣", "连衣裙", "衬衫", "阔腿裤", "羊毛大衣", "半身裙", "卫衣", "羽绒服", "西装外套",
          "牛仔裤")),
        (("颜色分类", ("米白色", "黑色", "燕麦色", "雾霾蓝", "酒红色")), ("尺码", ("S", "M", "L", "XL"))),
        (("材质", ("棉", "羊毛", "聚酯纤维", "真丝", "亚麻")),),
        (("面料很舒服", "做工精致，没有线头", "版型很好看"),
         ("面料起球严重", "线头很多", "洗了一次就缩水了")),
    ),
    CategorySpec(
        "男装", 2411092, 25, (89, 499), -1.8, 0.30, 310, True, ("北极鹿", "青禾", "墨川", "野径"),
        "{year}{season}新款{p0}{p1}{p2}男",
        (("商务", "休闲", "潮牌", "日系", "美式复古", "简约"),
         ("宽松", "修身", "直筒", "加绒", "加厚"),
         ("夹克", "衬衫", "休闲裤", "卫衣", "羽绒服", "针织衫", "牛仔裤", "POLO衫", "冲锋衣")),
        (("颜色分类", ("黑色", "藏青色", "卡其色", "灰色")), ("尺码", ("M", "L", "XL", "XXL"))),
        (("材质", ("棉", "聚酯纤维", "羊毛", "锦纶")),),
        (("面料很厚实", "做工不错，走线整齐", "版型很正"), ("面料很薄", "有线头开线了", "洗了就掉色")),
    ),
    CategorySpec(
        "美妆", 1464116, 30, (49, 399), -1.6, 0.10, 60, False, ("花间集", "水之语", "初研", "澄肌"),
        "{brand}{p0}{p1}{p2}",
        (("精华液", "面霜", "口红", "粉底液", "洗面奶", "爽肤水", "眼霜", "面膜", "防晒霜", "卸妆油"),
         ("补水保湿", "提亮肤色", "控油持妆", "修护舒缓", "紧致淡纹", "温和清洁"),
         ("30ml", "50ml", "100ml", "120g", "10片装", "3.5g")),
        (("规格", ("正装", "旅行装", "两件套")),),
        (("适合肤质", ("任何肤质", "干性肤质", "油性肤质", "混合肤质")),),
        (("用起来很温和", "保湿效果很好", "吸收很快"), ("用了过敏", "感觉不是正品", "味道刺鼻")),
    ),
    CategorySpec(
        "食品", 2520377, 25, (19, 149), -1.2, 0.30, 20, False, ("小满", "山野记", "禾田", "甜豆"),
        "{brand}{p0}{p1}{p2}",
        (("每日坚果", "牛肉干", "蛋黄酥", "挂耳咖啡", "红枣", "芒果干", "螺蛳粉", "燕麦片", "乌龙茶"),
         ("零食大礼包", "办公室休闲食品", "早餐代餐", "年货礼盒", "囤货装"),
         ("500g", "750g", "1kg", "30包", "12盒", "整箱")),
        (("规格", ("单盒装", "两盒装", "家庭装")),),
        (("保质期", ("180天", "270天", "365天")), ("产地", ("浙江", "云南", "新疆", "福建"))),
        (("很新鲜", "味道很好吃", "口感很好"), ("不新鲜", "味道怪怪的", "有点受潮了")),
    ),
    CategorySpec(
        "数码配件", 4756105, 20, (19, 299), -2.2, 0.10, 240, False, ("极客屋", "电小兔", "闪充者"),
        "{brand}{p0}{p1}{p2}",
        (("无线蓝牙耳机", "快充数据线", "充电宝", "手机壳", "氮化镓充电器", "钢化膜", "机械键盘", "无线鼠标"),
         ("通用型", "超薄", "磁吸", "降噪", "大容量", "Type-C"),
         ("新款", "2米", "20000毫安", "65W", "送礼")),
        (("颜色分类", ("白色", "黑色", "远峰蓝")),),
        (("保修", ("一年", "两年")),),
        (("音质很好", "充电很快", "做工扎实"), ("用了一周就坏了", "充电很慢", "接触不良")),
    ),
    CategorySpec(
        "家居", 3607361, 25, (29, 499), -1.5, 0.15, 100, False, ("木语", "棉朵", "小窝"),
        "{brand}{p0}{p1}{p2}",
        (("北欧风", "简约", "ins风", "日式", "加厚", "全棉"),
         ("四件套", "乳胶枕", "收纳盒", "香薰蜡烛", "地毯", "窗帘", "保温杯", "毛巾", "懒人沙发", "台灯"),
         ("家用", "卧室", "大号", "3个装", "1.8m床")),
        (("颜色分类", ("奶油白", "浅灰", "原木色")),),
        (("材质", ("棉", "实木", "陶瓷", "不锈钢")),),
        (("质感很好", "没有异味", "做工很细致"), ("有很大的异味", "做工粗糙", "用了没几天就变形了")),
    ),
    CategorySpec(
        "母婴", 5002681, 15, (39, 399), -0.9, 0.05, 150, True, ("贝贝熊", "暖芽", "小海豚"),
        "{brand}{p0}{p1}{p2}",
        (("超薄透气", "新生儿", "防胀气", "纯棉", "加厚", "可折叠"),
         ("纸尿裤", "婴儿湿巾", "奶瓶", "儿童连体衣", "辅食机", "宝宝围兜", "爬行垫"),
         ("L码52片", "80抽10包", "240ml", "四季款", "礼盒装")),
        (("尺码", ("S", "M", "L", "XL")),),
        (("适用年龄", ("0-6个月", "6-12个月", "1-3岁")),),
        (("宝宝用着很舒服", "材质很安全", "很柔软"), ("宝宝用了红屁屁", "有异味", "材质很硬")),
    ),
    CategorySpec(
        "运动户外", 982926, 20, (59, 799), -1.7, 0.35, 170, True, ("跃动", "山行者", "风驰"),
        "{brand}{p0}{p1}{p2}男女同款",
        (("轻便透气", "防水", "专业", "加厚防滑", "减震"),
         ("跑步鞋", "瑜伽垫", "速干T恤", "冲锋衣", "登山包", "运动水壶", "帐篷", "跳绳"),
         ("新款", "户外", "健身", "夏季")),
        (("颜色分类", ("黑色", "荧光绿", "灰蓝")), ("尺码", ("S", "M", "L", "XL"))),
        (("适用场景", ("跑步", "登山", "健身", "露营")),),
        (("穿着很舒服", "很轻便", "质量很扎实"), ("开胶了", "不防水", "穿了两次就破了")),
    ),
)
CATEGORY_NAMES = tuple(spec.name for spec in CATEGORIES)

CITIES: tuple[tuple[str, str, tuple[str, ...], float], ...] = (
    ("浙江省", "杭州市", ("西湖区", "余杭区", "滨江区"), 5.0),
    ("浙江省", "宁波市", ("鄞州区", "海曙区"), 2.0),
    ("浙江省", "温州市", ("鹿城区", "瓯海区"), 1.5),
    ("江苏省", "南京市", ("鼓楼区", "玄武区", "江宁区"), 3.0),
    ("江苏省", "苏州市", ("姑苏区", "吴中区", "相城区"), 3.0),
    ("江苏省", "无锡市", ("梁溪区", "滨湖区"), 1.5),
    ("广东省", "广州市", ("天河区", "越秀区", "海珠区"), 4.5),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区"), 4.5),
    ("广东省", "佛山市", ("禅城区", "南海区"), 1.5),
    ("上海", "上海市", ("浦东新区", "徐汇区", "静安区", "闵行区"), 5.0),
    ("北京", "北京市", ("朝阳区", "海淀区", "东城区", "丰台区"), 4.5),
    ("天津", "天津市", ("和平区", "南开区"), 1.5),
    ("重庆", "重庆市", ("渝中区", "江北区"), 2.0),
    ("四川省", "成都市", ("武侯区", "锦江区", "金牛区"), 3.0),
    ("湖北省", "武汉市", ("洪山区", "江汉区", "武昌区"), 2.5),
    ("湖南省", "长沙市", ("岳麓区", "天心区"), 2.0),
    ("山东省", "济南市", ("历下区", "市中区"), 1.5),
    ("山东省", "青岛市", ("市南区", "崂山区"), 1.5),
    ("福建省", "福州市", ("鼓楼区", "仓山区"), 1.2),
    ("福建省", "厦门市", ("思明区", "湖里区"), 1.2),
    ("河南省", "郑州市", ("金水区", "二七区"), 1.5),
    ("河北省", "石家庄市", ("长安区", "桥西区"), 1.0),
    ("陕西省", "西安市", ("雁塔区", "碑林区"), 1.5),
    ("安徽省", "合肥市", ("蜀山区", "包河区"), 1.2),
    ("江西省", "南昌市", ("东湖区", "红谷滩区"), 0.8),
    ("辽宁省", "沈阳市", ("和平区", "沈河区"), 1.0),
    ("辽宁省", "大连市", ("中山区", "沙河口区"), 0.8),
    ("云南省", "昆明市", ("五华区", "盘龙区"), 0.8),
    ("广西壮族自治区", "南宁市", ("青秀区", "兴宁区"), 0.7),
    ("黑龙江省", "哈尔滨市", ("南岗区", "道里区"), 0.7),
    ("吉林省", "长春市", ("朝阳区", "南关区"), 0.5),
    ("山西省", "太原市", ("小店区", "迎泽区"), 0.5),
    ("贵州省", "贵阳市", ("云岩区", "南明区"), 0.5),
    ("新疆维吾尔自治区", "乌鲁木齐市", ("天山区", "沙依巴克区"), 0.3),
    ("内蒙古自治区", "呼和浩特市", ("新城区", "回民区"), 0.3),
    ("甘肃省", "兰州市", ("城关区", "七里河区"), 0.3),
    ("海南省", "海口市", ("龙华区", "美兰区"), 0.4),
)
ROADS = ("人民路", "解放路", "中山路", "建设路", "文化路", "新华路", "和平路", "长江路", "学院路",
         "幸福路", "光明街", "滨江大道")
SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹")
GIVEN_CHARS = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红鹏飞欣怡婷雪琳晨宇浩然涵轩博文佳琪")
NICK_WORDS = ("小红薯", "快乐的鱼", "星星点灯", "橘子汽水", "奶茶不加糖", "猫咪爱吃鱼", "夏天的风", "月亮船",
              "一只小熊", "晴天娃娃", "柠檬精", "糖果屋", "爱购物的", "路过的云", "吃货一枚", "胖虎")
PINYIN = ("xiaoming", "lili", "dawei", "tiantian", "huahua", "xiaoyu", "mengmeng", "jiajia", "haohao",
          "chenchen", "yangyang", "feifei")
AGE_BANDS = ("18-24", "25-29", "30-34", "35-39", "40-49", "50+")
AGE_WEIGHTS = np.array([0.20, 0.25, 0.22, 0.15, 0.12, 0.06])
CARRIERS = (("中通快递", "", 12), ("圆通速递", "YT", 13), ("韵达快递", "", 13), ("申通快递", "77", 13),
            ("顺丰速运", "SF", 13), ("极兔速递", "JT", 13))
BUYER_MESSAGES = ("请尽快发货", "发顺丰可以吗", "不要放快递柜，谢谢", "送人的，不要放发票",
                  "麻烦检查一下再发")
SELLER_NOTES = ("已备注：送小样", "VIP客户", "催发货", "已改地址")
CLOSE_REASONS = ("未及时付款", "买家不想买", "买家信息填写错误，重新拍", "其他原因")
COMPETITORS = ("优品汇旗舰店", "悦享生活专营店", "臻选官方旗舰店", "好物百货专营店", "潮流前线旗舰店")

ASPECTS = ("物流", "质量", "价格", "客服", "包装", "尺码")
ASPECT_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "物流": {"positive": ("物流很快", "快递给力，第二天就到了", "发货速度很快", "物流还算快"),
             "negative": ("物流太慢了", "快递一个星期才到", "发货很慢", "物流不是很快",
                          "快递员态度不怎么样")},
    "质量": {"positive": ("质量很好", "做工精细", "质量没得说", "质量还行", "没有任何异味"),
             "negative": ("质量很差", "做工粗糙", "用了两天就坏了", "质量不是很好", "质量一般般，有点失望")},
    "价格": {"positive": ("性价比很高", "价格实惠", "这个价格很值", "一点都不贵", "价格还可以"),
             "negative": ("价格偏贵", "不值这个价", "性价比不高", "刚买就降价了，有点亏")},
    "客服": {"positive": ("客服态度很好", "客服回复很及时", "客服很耐心"),
             "negative": ("客服态度很差", "客服爱答不理", "客服回复太慢", "客服不是很耐心")},
    "包装": {"positive": ("包装很严实", "包装精美", "包装完好无损", "包装没有破损"),
             "negative": ("包装破损了", "包装太简陋", "外包装都压坏了", "包装不是很好")},
    "尺码": {"positive": ("尺码标准", "大小合适", "尺码很准，按平时的买就行"),
             "negative": ("尺码偏小", "尺码偏大，要换", "大小不合适", "尺码不太准")},
}
OVERALL_PHRASES = {
    "positive": ("非常满意", "推荐购买", "五星好评", "下次还会回购", "很喜欢", "值得购买"),
    "negative": ("非常失望", "不推荐购买", "差评", "不会再买了", "后悔买了", "申请退货了"),
}
FILLERS = ("已经收到了", "买给家里人的", "第二次购买了", "看了很久才下单", "等了好几天", "先评价再说")

_STREAMS = ("catalog", "customers", "prices", "demand", "stock", "orders", "details", "events",
            "reviews", "competitors")


# --------------------------------------------------------------------------------------------
# Configuration and intermediate results
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoConfig:
    """Knobs of the synthetic shop; ``scale`` multiplies items, customers and volumes."""

    seed: int = 42
    scale: float = 1.0
    end_date: date = field(default_factory=lambda: default_end_date())
    n_days: int = 730
    base_items: int = 200
    base_customers: int = 2000
    mean_base_demand: float = 0.34  # units per item per day before multipliers
    trend_per_year: float = 0.15
    behavior_days: int = 180  # the behaviour log covers the last N days
    session_conversion: float = 0.13  # share of behaviour sessions that end in a buy
    review_rate: float = 0.17  # chance that a completed order line gets a review
    spike_days: int = 21
    competitor_share: float = 0.4

    @property
    def n_items(self) -> int:
        return max(len(CATEGORIES), round(self.base_items * self.scale))

    @property
    def n_customers(self) -> int:
        return max(30, round(self.base_customers * self.scale))

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.n_days - 1)


@dataclass(frozen=True)
class PromoWindow:
    """A promotion (or holiday) window with its demand multiplier and discount depth."""

    name: str
    phase: str
    start: date
    end: date
    demand_multiplier: float
    discount: float
    category_multipliers: tuple[tuple[str, float], ...] = ()
    peak: bool = False  # midnight rush and platform coupons

    def as_json(self) -> dict:
        return {"name": self.name, "phase": self.phase, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "demand_multiplier": self.demand_multiplier,
                "discount": self.discount, "category_multipliers": dict(self.category_multipliers),
                "peak": self.peak}


@dataclass
class Calendar:
    """Day-indexed arrays of the simulated period."""

    start: date
    n_days: int
    dow: np.ndarray
    doy: np.ndarray
    day_start: np.ndarray  # local seconds (naive Asia/Shanghai) at 00:00 of each day
    promotions: list[PromoWindow]
    holidays: list[PromoWindow]
    multiplier: np.ndarray  # (n_categories, n_days)
    discount: np.ndarray  # (n_days,)
    peak: np.ndarray  # (n_days,) bool
    special: np.ndarray  # (n_days,) bool: inside any promotion or holiday window

    def iso(self, day: int) -> str:
        return (self.start + timedelta(days=int(day))).isoformat()


@dataclass
class Catalog:
    """Items and their hidden parameters (arrays indexed by item)."""

    item_id: np.ndarray
    category: np.ndarray
    title: list[str]
    brand: list[str]
    base_price: np.ndarray
    cost: np.ndarray
    elasticity: np.ndarray
    base_demand: np.ndarray
    lead_time: np.ndarray
    created_day: np.ndarray
    delisted_day: np.ndarray
    created_at: list[str]
    fixed_price: np.ndarray
    in_promotions: np.ndarray
    attributes: list[str]
    sku_options: list[list[str]]
    negative_rate: np.ndarray
    weak_aspect: list[str]

    def active(self, n_days: int) -> np.ndarray:
        days = np.arange(n_days)
        return (days >= self.created_day[:, None]) & (days < self.delisted_day[:, None])


@dataclass
class Customers:
    """Buyers (members) of the shop; ``user_id`` is the 买家会员名 nickname."""

    user_id: np.ndarray
    city: np.ndarray  # index into CITIES
    address: list[str]
    gender: np.ndarray
    age_band: np.ndarray
    activity: np.ndarray
    affinity: np.ndarray  # (n_customers, n_categories)
    name: list[str]
    phone: list[str]
    alipay: list[str]


@dataclass
class Stock:
    """Inventory simulation: opening stock, stock on order and units sold per item-day."""

    opening: np.ndarray
    on_order: np.ndarray
    sold: np.ndarray
    active: np.ndarray


@dataclass
class Lines:
    """Order lines; ``sale`` lines count as sales, the others end closed, pending or refunded."""

    item: np.ndarray
    day: np.ndarray
    qty: np.ndarray
    price: np.ndarray
    sale: np.ndarray
    order: np.ndarray  # index into Orders (-1 until grouped)


@dataclass
class Orders:
    """One row per order (index aligned arrays)."""

    order_id: np.ndarray
    day: np.ndarray
    created: np.ndarray  # local seconds
    paid: np.ndarray  # local seconds, -1 when unpaid
    shipped: np.ndarray  # local seconds, -1 when not shipped by the end date
    confirmed: np.ndarray  # local seconds, -1 when not completed by the end date
    customer: np.ndarray
    status: np.ndarray
    close_reason: np.ndarray


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------

def default_end_date() -> date:
    """Yesterday in the demo shop's timezone: the shop's history always reaches the present."""
    return datetime.now(ZoneInfo(TIMEZONE)).date() - timedelta(days=1)


def generate(out_dir: str | Path, seed: int = 42, scale: float = 1.0, end_date: str | date | None = None,
             progress: ProgressFn | None = None) -> dict:
    """Write a synthetic Tmall-like shop (about two years of daily history) into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into; created when missing. Existing files of the same name are replaced.
    seed : int, default 42
        Seed of ``numpy.random.default_rng``; the same seed, scale and end date give
        byte-identical files.
    scale : float, default 1.0
        Multiplies the number of items (200), customers (2,000) and so every volume.
    end_date : str or date, optional
        Last day of history (ISO date, shop-local); default :func:`default_end_date` (yesterday).
        The history covers the 730 days up to it. Tests and benchmarks pass a fixed day.
    progress : callable, optional
        ``progress(fraction, message)`` with ``fraction`` rising from 0 to 1.

    Returns
    -------
    dict
        ``{"files": {file name: data rows}, "seed", "scale", "start_date", "end_date"}``.

    Notes
    -----
    Files: ``products.csv``, ``customers.csv``, ``reviews.csv``, ``inventory.csv``,
    ``competitor_prices.csv`` (UTF-8, canonical headers); ``订单报表.csv`` and ``宝贝报表.csv``
    (GBK, Tmall seller-centre columns, CRLF); ``user_behavior.csv`` (Tianchi UserBehavior, no
    header); ``ground_truth.json`` (what was planted: elasticities, seasonality, promotions,
    funnel, review labels, the negative-review spike, stock-out days).

    Expected units of item i on day t are
    ``base_i * weekly[dow] * yearly_c(doy) * trend(t) * promo_c(t) * (price_it / base_price_i) ** e_i``;
    orders of paid, shipped and completed status carry exactly the units drawn from it, and
    nothing sells on a day that opens with no stock.

    Examples
    --------
    >>> summary = generate("/tmp/demo", seed=7, scale=0.1)   # doctest: +SKIP
    """
    config = DemoConfig(seed=int(seed), scale=float(scale),
                        end_date=default_end_date() if end_date is None else _parse_date(end_date))
    _check_config(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = progress or _no_progress
    rngs = dict(zip(_STREAMS, np.random.default_rng(config.seed).spawn(len(_STREAMS)), strict=True))

    report(0.0, "building the calendar and catalogue")
    calendar = build_calendar(config)
    catalog = make_catalog(rngs["catalog"], config, calendar)
    customers = make_customers(rngs["customers"], config)
    report(0.1, "simulating prices and demand")
    prices = simulate_prices(rngs["prices"], catalog, calendar)
    active = catalog.active(calendar.n_days)
    expected = expected_demand(catalog, calendar, prices, active, config.trend_per_year)
    item_idx, day_idx, qty = sample_demand_lines(rngs["demand"], expected)
    report(0.2, "simulating stock")
    stock = simulate_stock(rngs["stock"], catalog, expected, item_idx, day_idx, qty, active)
    report(0.3, "building orders")
    lines = build_lines(rngs["orders"], item_idx, day_idx, qty, stock, expected, prices)
    lines = replace(lines, order=group_into_orders(rngs["orders"], lines, catalog.category[lines.item]))
    orders = build_orders(rngs["orders"], calendar, catalog, customers, lines)
    report(0.45, "building behaviour log")
    events, funnel = build_events(rngs["events"], config, calendar, catalog, customers, lines, orders,
                                  expected, active)
    report(0.6, "composing reviews")
    reviews, review_truth, spike = build_reviews(rngs["reviews"], config, calendar, catalog, lines, orders)
    report(0.65, "observing competitors")
    competitor_rows, competitor_truth = build_competitor_prices(rngs["competitors"], config, calendar,
                                                                catalog, prices, active)

    report(0.7, "writing files")
    counts = {}
    counts["products.csv"] = write_products(out, catalog, prices)
    registered = customer_registration(rngs["customers"], calendar, customers, orders, events)
    counts["customers.csv"] = write_customers(out, customers, registered)
    counts["订单报表.csv"] = write_order_report(rngs["details"], out, calendar, catalog, customers, lines,
                                               orders)
    report(0.8, "writing order lines")
    counts["宝贝报表.csv"] = write_order_item_report(rngs["details"], out, catalog, lines, orders)
    counts["user_behavior.csv"] = write_user_behavior(out, events, catalog, customers)
    report(0.9, "writing reviews, inventory and competitor prices")
    counts["reviews.csv"] = write_reviews(out, reviews, customers)
    counts["inventory.csv"] = write_inventory(out, calendar, catalog, stock)
    counts["competitor_prices.csv"] = write_competitor_prices(out, competitor_rows)
    truth = ground_truth(config, calendar, catalog, prices, stock, funnel, review_truth, spike,
                         competitor_truth)
    _write_text(out / "ground_truth.json", json.dumps(truth, ensure_ascii=False, indent=1) + "\n")
    report(1.0, "done")
    return {"files": counts, "seed": config.seed, "scale": config.scale,
            "start_date": config.start_date.isoformat(), "end_date": config.end_date.isoformat()}


def _no_progress(fraction: float, message: str) -> None:
    """Default progress callback: do nothing."""


def _parse_date(value: str | date) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _check_config(config: DemoConfig) -> None:
    if not config.scale > 0:
        raise ValueError(f"scale must be positive, got {config.scale}")
    years = range(config.start_date.year, config.end_date.year + 2)
    if years[0] not in LUNAR_YEARS or years[-1] not in LUNAR_YEARS:
        raise ValueError(f"end_date {config.end_date} is outside the lunar calendar's years "
                         f"{LUNAR_YEARS[0]}-{LUNAR_YEARS[-1]}")


# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------

def promotion_windows(first_year: int, last_year: int) -> tuple[list[PromoWindow], list[PromoWindow]]:
    """Return (promotions, holidays) of the Tmall year for ``first_year`` .. ``last_year``."""
    promotions, holidays = [], []
    for year in range(first_year, last_year + 1):
        festival = spring_festival(year)
        promotions += [
            PromoWindow("年货节", "main", festival - timedelta(days=24), festival - timedelta(days=8),
                        1.3, 0.10, (("食品", 2.2),)),
            PromoWindow("38节", "main", date(year, 3, 6), date(year, 3, 8), 1.4, 0.10,
                        (("美妆", 2.2), ("女装", 2.0))),
            PromoWindow("618", "warm-up", date(year, 6, 1), date(year, 6, 17), 1.25, 0.10),
            PromoWindow("618", "peak", date(year, 6, 18), date(year, 6, 18), 3.5, 0.20, peak=True),
            PromoWindow("双11", "pre-sale", date(year, 10, 24), date(year, 11, 10), 1.5, 0.10),
            PromoWindow("双11", "peak", date(year, 11, 11), date(year, 11, 11), 6.0, 0.25, peak=True),
            PromoWindow("双12", "warm-up", date(year, 12, 10), date(year, 12, 11), 1.2, 0.05),
            PromoWindow("双12", "peak", date(year, 12, 12), date(year, 12, 12), 2.5, 0.15, peak=True),
        ]
        holidays.append(PromoWindow("春节物流停运", "holiday", festival - timedelta(days=6),
                                    festival + timedelta(days=6), 0.45, 0.0))
    return promotions, holidays


def build_calendar(config: DemoConfig) -> Calendar:
    """Day-indexed seasonality inputs: day of week and year, promotion multipliers and discounts."""
    start, n_days = config.start_date, config.n_days
    dates = pd.date_range(start, periods=n_days, freq="D")
    first_local = (start - EPOCH).days * DAY_SECONDS
    promotions, holidays = promotion_windows(start.year, config.end_date.year + 1)
    in_range = [w for w in promotions + holidays if w.end >= start and w.start <= config.end_date]
    multiplier = np.ones((len(CATEGORIES), n_days))
    discount = np.zeros(n_days)
    peak = np.zeros(n_days, dtype=bool)
    special = np.zeros(n_days, dtype=bool)
    for window in in_range:
        lo = max((window.start - start).days, 0)
        hi = min((window.end - start).days, n_days - 1) + 1
        by_category = dict(window.category_multipliers)
        for c, spec in enumerate(CATEGORIES):
            multiplier[c, lo:hi] = by_category.get(spec.name, window.demand_multiplier)
        discount[lo:hi] = window.discount
        peak[lo:hi] |= window.peak
        special[lo:hi] = True
    return Calendar(
        start=start, n_days=n_days, dow=dates.dayofweek.to_numpy(), doy=dates.dayofyear.to_numpy(),
        day_start=first_local + np.arange(n_days, dtype=np.int64) * DAY_SECONDS,
        promotions=[w for w in in_range if w.discount > 0],
        holidays=[w for w in in_range if w.discount == 0],
        multiplier=multiplier, discount=discount, peak=peak, special=special,
    )


def yearly_factor(calendar: Calendar) -> np.ndarray:
    """Yearly seasonality per category and day: ``1 + A_c cos(2 pi (doy - peak_c) / 365.25)``."""
    amplitude = np.array([spec.yearly_amplitude for spec in CATEGORIES])[:, None]
    peak = np.array([spec.yearly_peak_doy for spec in CATEGORIES])[:, None]
    return 1.0 + amplitude * np.cos(2 * np.pi * (calendar.doy[None, :] - peak) / 365.25)


# --------------------------------------------------------------------------------------------
# Catalogue and customers
# --------------------------------------------------------------------------------------------

def nice_price(value: np.ndarray | float) -> np.ndarray:
    """Round to whole yuan and end in .90, as shops price (128.90)."""
    return np.maximum(np.round(value), 2.0) - 0.1


def category_counts(n_items: int) -> np.ndarray:
    """Split ``n_items`` over the categories by weight, at least one item each."""
    weights = np.array([spec.weight for spec in CATEGORIES], dtype=float)
    raw = weights / weights.sum() * n_items
    counts = np.maximum(np.floor(raw).astype(int), 1)
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    position = 0
    while counts.sum() < n_items:
        counts[order[position % len(order)]] += 1
        position += 1
    while counts.sum() > n_items:
        counts[np.argmax(counts)] -= 1
    return counts


def _season(month: int) -> str:
    return {12: "冬季", 1: "冬季", 2: "早春", 3: "春季", 4: "春季", 5: "春夏", 6: "夏季", 7: "夏季",
            8: "早秋", 9: "秋季", 10: "秋冬", 11: "秋冬"}[month]


def _titles(rng: np.random.Generator, category: np.ndarray, brand: list[str],
            created: list[date]) -> list[str]:
    """Chinese listing titles from category vocabularies; unique within the shop."""
    titles, seen = [], set()
    for c, item_brand, day in zip(category, brand, created, strict=True):
        spec = CATEGORIES[c]
        for attempt in range(20):
            picks = [part[rng.integers(len(part))] for part in spec.parts]
            title = spec.template.format(year=day.year, season=_season(day.month), brand=item_brand,
                                         p0=picks[0], p1=picks[1], p2=picks[2])
            if title not in seen:
                break
            if attempt == 19:
                title += f"{len(titles)}号款"
        seen.add(title)
        titles.append(title)
    return titles


def _attributes(rng: np.random.Generator, spec: CategorySpec, brand: str) -> tuple[str, list[str]]:
    """The product's attribute JSON and its SKU strings (商品属性), one per colour/size combination."""
    attributes: dict[str, object] = {"品牌": brand}
    for name, options in spec.extra_attributes:
        attributes[name] = options[rng.integers(len(options))]
    dims = []
    for name, options in spec.sku:
        k = int(rng.integers(2, len(options) + 1))
        chosen = [options[j] for j in np.sort(rng.choice(len(options), k, replace=False))]
        attributes[name] = chosen
        dims.append([f"{name}：{value}" for value in chosen])
    skus = [";".join(combo) for combo in _product(dims)]
    return json.dumps(attributes, ensure_ascii=False), skus


def _product(dims: list[list[str]]) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for values in dims:
        combos = [(*combo, value) for combo in combos for value in values]
    return combos


def unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct random integers in ``[low, high)``, in draw order."""
    values = rng.integers(low, high, n, dtype=np.int64)
    while True:
        _, first = np.unique(values, return_index=True)
        duplicate = np.ones(n, dtype=bool)
        duplicate[first] = False
        if not duplicate.any():
            return values
        values[duplicate] = rng.integers(low, high, int(duplicate.sum()), dtype=np.int64)


def make_catalog(rng: np.random.Generator, config: DemoConfig, calendar: Calendar) -> Catalog:
    """Items with titles, prices, costs and the hidden demand parameters."""
    n_days = calendar.n_days
    counts = category_counts(config.n_items)
    category = np.repeat(np.arange(len(CATEGORIES)), counts)
    n = category.size
    item_id = unique_ints(rng, n, 5 * 10**11, 7 * 10**11).astype(str)
    brand = [CATEGORIES[c].brands[rng.integers(len(CATEGORIES[c].brands))] for c in category]
    # every brand of a category sells at least one item, so a question may name any of them
    # (the random draw above stays, keeping the rest of the stream and so the data unchanged)
    for first, (c, count) in zip(np.cumsum(counts) - counts, enumerate(counts), strict=True):
        for k, name in enumerate(CATEGORIES[c].brands[:count]):
            brand[first + k] = name

    launched_later = rng.random(n) < 0.2
    created_day = np.where(launched_later, rng.integers(30, n_days - 60, n), -rng.integers(1, 500, n))
    delisted = (rng.random(n) < 0.03) & (created_day < n_days - 260)
    delisted_day = np.where(delisted, rng.integers(n_days - 200, n_days - 30, n), n_days)
    created_seconds = rng.integers(8 * 3600, 22 * 3600, n)
    created_dates = [calendar.start + timedelta(days=int(d)) for d in created_day]
    created_at = [f"{d.isoformat()} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
                  for d, s in zip(created_dates, created_seconds, strict=True)]

    low = np.array([CATEGORIES[c].price_range[0] for c in category])
    high = np.array([CATEGORIES[c].price_range[1] for c in category])
    base_price = nice_price(np.exp(rng.uniform(np.log(low), np.log(high))))
    cost = np.round(base_price * rng.uniform(0.30, 0.52, n), 2)
    elasticity_mean = np.array([CATEGORIES[c].elasticity_mean for c in category])
    elasticity = np.round(np.clip(rng.normal(elasticity_mean, 0.4), -3.0, -0.5), 3)
    base_demand = np.round(config.mean_base_demand * np.exp(rng.normal(0.0, 0.9, n) - 0.405), 4)

    fixed_price = np.zeros(n, dtype=bool)
    fixed_price[rng.choice(n, max(1, round(0.05 * n)), replace=False)] = True
    in_promotions = ~fixed_price & (rng.random(n) < 0.85)

    attributes, sku_options = [], []
    for c, item_brand in zip(category, brand, strict=True):
        text, skus = _attributes(rng, CATEGORIES[c], item_brand)
        attributes.append(text)
        sku_options.append(skus)
    aspects = [[a for a in ASPECTS if a != "尺码" or CATEGORIES[c].sized] for c in category]
    return Catalog(
        item_id=item_id, category=category, title=_titles(rng, category, brand, created_dates),
        brand=brand, base_price=base_price, cost=cost, elasticity=elasticity, base_demand=base_demand,
        lead_time=rng.choice(np.array([3, 5, 7, 10, 14, 21]), n), created_day=created_day,
        delisted_day=delisted_day, created_at=created_at, fixed_price=fixed_price,
        in_promotions=in_promotions, attributes=attributes, sku_options=sku_options,
        negative_rate=np.round(rng.beta(2.0, 14.0, n), 3),
        weak_aspect=[options[rng.integers(len(options))] for options in aspects],
    )


def _nickname(rng: np.random.Generator) -> str:
    kind = rng.integers(5)
    if kind == 0:
        return "tb" + "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(8, 11))))
    if kind == 1:
        letters = "abcdefghijkmnpqrstuvwxyz23456789"
        return "tb_" + "".join(letters[i] for i in rng.integers(0, len(letters), 5))
    if kind == 2:
        return NICK_WORDS[rng.integers(len(NICK_WORDS))] + str(int(rng.integers(1990, 2026)))
    if kind == 3:
        return PINYIN[rng.integers(len(PINYIN))] + "_" + str(int(rng.integers(10, 9999)))
    return NICK_WORDS[rng.integers(len(NICK_WORDS))] + PINYIN[rng.integers(len(PINYIN))][:3]


def _nicknames(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct buyer nicknames (买家会员名), mixed Chinese and latin."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = _nickname(rng)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return np.array(names, dtype=object)


def _person_names(rng: np.random.Generator, n: int) -> list[str]:
    surnames = rng.integers(0, len(SURNAMES), n)
    lengths = rng.integers(1, 3, n)
    given = rng.integers(0, len(GIVEN_CHARS), (n, 2))
    return [SURNAMES[s] + "".join(GIVEN_CHARS[g] for g in row[:k])
            for s, k, row in zip(surnames, lengths, given, strict=True)]


def _masked_phones(rng: np.random.Generator, n: int) -> list[str]:
    """Fake, masked mobile numbers on the 170 prefix: '170****1234'."""
    return [f"170****{v:04d}" for v in rng.integers(0, 10000, n)]


def street_addresses(rng: np.random.Generator, city: np.ndarray) -> list[str]:
    """Full fake street addresses, 'province city district road No.' as in 收货地址."""
    n = city.size
    district = rng.integers(0, 4, n)
    road = rng.integers(0, len(ROADS), n)
    numbers = rng.integers(1, 999, (n, 4))
    out = []
    for c, d, r, (num, block, unit, room) in zip(city, district, road, numbers, strict=True):
        province, city_name, districts, _ = CITIES[c]
        out.append(f"{province} {city_name} {districts[d % len(districts)]} {ROADS[r]}{num}号"
                   f"{block % 30 + 1}幢{unit % 6 + 1}单元{room % 30 + 101}室")
    return out


def make_customers(rng: np.random.Generator, config: DemoConfig) -> Customers:
    """Members with heavy-tailed activity, category tastes and fake contact details."""
    n = config.n_customers
    city_weight = np.array([row[3] for row in CITIES])
    city = rng.choice(len(CITIES), n, p=city_weight / city_weight.sum())
    gender = np.where(rng.random(n) < 0.65, "female", "male")
    taste = rng.dirichlet(np.full(len(CATEGORIES), 0.5), n)
    female_bias = np.array([3.0, 0.4, 2.5, 1.0, 0.7, 1.2, 1.5, 0.8])
    male_bias = np.array([0.3, 3.0, 0.4, 1.0, 2.0, 1.0, 0.8, 1.8])
    taste = taste * np.where((gender == "female")[:, None], female_bias, male_bias) + 0.02
    user_id = _nicknames(rng, n)
    return Customers(
        user_id=user_id, city=city, address=street_addresses(rng, city), gender=gender,
        age_band=np.array(AGE_BANDS)[rng.choice(len(AGE_BANDS), n, p=AGE_WEIGHTS)],
        activity=rng.lognormal(0.0, 1.3, n),
        affinity=taste / taste.sum(axis=1, keepdims=True),
        name=_person_names(rng, n), phone=_masked_phones(rng, n),
        alipay=[phone if rng.random() < 0.5 else f"{PINYIN[rng.integers(len(PINYIN))]}{i:04d}@example.com"
                for i, phone in enumerate(_masked_phones(rng, n))],
    )


# --------------------------------------------------------------------------------------------
# Prices, demand and stock
# --------------------------------------------------------------------------------------------

def regular_price_levels(rng: np.random.Generator, catalog: Catalog, n_days: int) -> np.ndarray:
    """Regular-price level relative to base: a new level every 2-8 weeks, +-5-25% or back to 1."""
    levels = np.ones((catalog.item_id.size, n_days))
    for i in np.flatnonzero(~catalog.fixed_price):
        day = int(rng.integers(7, 45))
        while day < n_days:
            length = int(rng.integers(14, 57))
            step = rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.25)
            level = 1.0 if rng.random() < 0.3 else 1.0 + step
            levels[i, day:day + length] = level
            day += length
    return levels


def simulate_prices(rng: np.random.Generator, catalog: Catalog, calendar: Calendar) -> np.ndarray:
    """Daily selling price per item: regular level times the promotion discount, rounded to .90."""
    levels = regular_price_levels(rng, catalog, calendar.n_days)
    discount = np.where(catalog.in_promotions[:, None], calendar.discount[None, :], 0.0)
    prices = nice_price(catalog.base_price[:, None] * levels * (1.0 - discount))
    return np.where(catalog.fixed_price[:, None], catalog.base_price[:, None], prices)


def expected_demand(catalog: Catalog, calendar: Calendar, prices: np.ndarray, active: np.ndarray,
                    trend_per_year: float) -> np.ndarray:
    """Expected units per item-day from the published demand model (zero while not listed)."""
    yearly = yearly_factor(calendar)[catalog.category]
    promo = calendar.multiplier[catalog.category]
    trend = np.exp(trend_per_year * np.arange(calendar.n_days) / 365.25)
    price_effect = (prices / catalog.base_price[:, None]) ** catalog.elasticity[:, None]
    lam = (catalog.base_demand[:, None] * WEEKLY[calendar.dow][None, :] * yearly * trend[None, :]
           * promo * price_effect)
    return np.where(active, lam, 0.0)


def sample_demand_lines(rng: np.random.Generator, expected: np.ndarray) -> tuple[np.ndarray, ...]:
    """Draw purchase lines: Poisson(expected / MEAN_QTY) lines per item-day of 1 + Poisson(0.25) units."""
    n_lines = rng.poisson(expected / MEAN_QTY)
    item, day = np.nonzero(n_lines)
    counts = n_lines[item, day]
    item, day = np.repeat(item, counts), np.repeat(day, counts)
    qty = 1 + rng.poisson(EXTRA_QTY_MEAN, item.size)
    return item, day, qty


def _trailing_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last ``window`` days (fewer at the start), along axis 1."""
    total = np.cumsum(values, axis=1)
    shifted = np.zeros_like(total)
    shifted[:, window:] = total[:, :-window]
    return total - shifted


def simulate_stock(rng: np.random.Generator, catalog: Catalog, expected: np.ndarray, item: np.ndarray,
                   day: np.ndarray, qty: np.ndarray, active: np.ndarray) -> Stock:
    """Run an (s, Q) replenishment policy with lead times; sales are capped by opening stock.

    The planner's forecast is the trailing 28-day mean of expected demand over listed days, so
    promotion spikes and items with a thin safety factor run out of stock.
    """
    n_items, n_days = expected.shape
    demand = np.zeros((n_items, n_days))
    np.add.at(demand, (item, day), qty)
    listed_days = np.maximum(_trailing_sum(active.astype(float), 28), 1.0)
    forecast = np.maximum(_trailing_sum(expected, 28) / listed_days, 0.05)
    safety = rng.uniform(0.5, 1.6, n_items)
    cover = rng.uniform(20, 45, n_items)
    lead = catalog.lead_time
    arrivals = np.zeros((n_items, n_days + int(lead.max()) + 1))
    on_hand = np.zeros(n_items)
    on_order = np.zeros(n_items)
    opening = np.zeros((n_items, n_days), dtype=np.int64)
    pipeline = np.zeros((n_items, n_days), dtype=np.int64)
    sold = np.zeros((n_items, n_days), dtype=np.int64)
    rows = np.arange(n_items)
    for d in range(n_days):
        on_hand += arrivals[:, d]
        on_order -= arrivals[:, d]
        launched = (catalog.created_day == d) | ((d == 0) & (catalog.created_day < 0))
        on_hand[launched] = np.ceil(forecast[launched, d] * (lead[launched] + cover[launched]))
        live = active[:, d]
        opening[:, d] = np.where(live, on_hand, 0)
        pipeline[:, d] = np.where(live, on_order, 0)
        sold[:, d] = np.where(live, np.minimum(demand[:, d], on_hand), 0)
        on_hand -= sold[:, d]
        reorder_point = forecast[:, d] * (lead + 7) * safety
        reorder = live & (on_hand + on_order <= reorder_point)
        quantity = np.maximum(np.ceil(forecast[:, d] * cover), 3.0)
        arrivals[rows[reorder], d + lead[reorder]] += quantity[reorder]
        on_order[reorder] += quantity[reorder]
    return Stock(opening=opening, on_order=pipeline, sold=sold, active=active)


def _group_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum restarting where ``starts`` is True (rows already grouped)."""
    total = np.cumsum(values)
    exclusive = total - values
    start_index = np.maximum.accumulate(np.where(starts, np.arange(values.size), 0))
    return total - exclusive[start_index]


def build_lines(rng: np.random.Generator, item: np.ndarray, day: np.ndarray, qty: np.ndarray,
                stock: Stock, expected: np.ndarray, prices: np.ndarray) -> Lines:
    """Sale lines trimmed to the stock sold, plus lines of orders that end closed or refunded."""
    n_days = expected.shape[1]
    order = np.lexsort((rng.random(item.size), day, item))
    item, day, qty = item[order], day[order], qty[order]
    key = item * n_days + day
    starts = np.r_[True, key[1:] != key[:-1]]
    before = _group_cumsum(qty, starts) - qty
    kept = np.clip(stock.sold[item, day] - before, 0, qty)
    sale_item, sale_day, sale_qty = item[kept > 0], day[kept > 0], kept[kept > 0]

    share_extra = (SHARE_UNPAID_CLOSED + SHARE_REFUNDED) / (1 - SHARE_UNPAID_CLOSED - SHARE_REFUNDED)
    n_extra = round(sale_item.size * share_extra)
    weight = (expected * (stock.opening > 0)).ravel()
    flat = rng.choice(weight.size, n_extra, p=weight / weight.sum())
    extra_item, extra_day = np.divmod(flat, n_days)
    extra_qty = 1 + rng.poisson(EXTRA_QTY_MEAN, n_extra)

    item = np.r_[sale_item, extra_item]
    day = np.r_[sale_day, extra_day]
    return Lines(item=item, day=day, qty=np.r_[sale_qty, extra_qty], price=prices[item, day],
                 sale=np.r_[np.ones(sale_item.size, bool), np.zeros(n_extra, bool)],
                 order=np.full(item.size, -1))


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------

def group_into_orders(rng: np.random.Generator, lines: Lines, category: np.ndarray) -> np.ndarray:
    """Group lines of the same day and kind into orders of 1-3 distinct items; return order per line.

    Lines are sorted so that most orders hold items of one category (what 'bought together'
    recommenders should find).
    """
    n = lines.item.size
    key = np.where(rng.random(n) < 0.75, category, rng.integers(0, len(CATEGORIES), n))
    sequence = np.lexsort((rng.random(n), key, lines.day, ~lines.sale))
    fresh = (rng.random(n) < P_NEW_ORDER).tolist()
    day, item, sale = lines.day.tolist(), lines.item.tolist(), lines.sale.tolist()
    order_of_line = np.empty(n, dtype=np.int64)
    current, members, previous = -1, [], None
    for position, line in enumerate(sequence.tolist()):
        group = (day[line], sale[line])
        if group != previous or len(members) == 3 or item[line] in members or fresh[position]:
            current += 1
            members = []
        members.append(item[line])
        order_of_line[line] = current
        previous = group
    return order_of_line


def _intraday_seconds(rng: np.random.Generator, peak: np.ndarray) -> np.ndarray:
    """Seconds after midnight: evening-heavy, with a midnight rush on peak promotion days."""
    rush = HOURLY.copy()
    rush[0] *= 10
    rush[1] *= 3
    rush[20:] *= 1.5
    hour = np.where(peak, rng.choice(24, peak.size, p=rush / rush.sum()),
                    rng.choice(24, peak.size, p=HOURLY / HOURLY.sum()))
    return hour * 3600 + rng.integers(0, 3600, peak.size)


def _pick_customers(rng: np.random.Generator, customers: Customers, category: np.ndarray) -> np.ndarray:
    """One customer per row, with probability proportional to activity x taste for the category."""
    picked = np.empty(category.size, dtype=np.int64)
    for c in range(len(CATEGORIES)):
        rows = np.flatnonzero(category == c)
        if rows.size:
            weight = customers.activity * customers.affinity[:, c]
            picked[rows] = rng.choice(weight.size, rows.size, p=weight / weight.sum())
    return picked


def _order_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Tmall order numbers: 16, 18 or 19 digits, unique."""
    digits = rng.choice(np.array([16, 18, 19]), n, p=[0.05, 0.25, 0.70])
    ids = np.empty(n, dtype=object)
    for length in (16, 18, 19):
        rows = np.flatnonzero(digits == length)
        ids[rows] = unique_ints(rng, rows.size, 10 ** (length - 1), 9 * 10 ** (length - 1)).astype(str)
    return ids


def build_orders(rng: np.random.Generator, calendar: Calendar, catalog: Catalog, customers: Customers,
                 lines: Lines) -> Orders:
    """Give each order (``lines.order``) a buyer, timestamps and a status as of the end date."""
    n = int(lines.order.max()) + 1
    first_line = np.full(n, lines.item.size)
    np.minimum.at(first_line, lines.order, np.arange(lines.item.size))
    day = lines.day[first_line]
    sale = lines.sale[first_line]
    created = calendar.day_start[day] + _intraday_seconds(rng, calendar.peak[day])
    customer = _pick_customers(rng, customers, catalog.category[lines.item[first_line]])
    end = calendar.day_start[-1] + DAY_SECONDS - 1

    refunded = ~sale & (rng.random(n) < SHARE_REFUNDED / (SHARE_REFUNDED + SHARE_UNPAID_CLOSED))
    paid_flag = sale | refunded
    paid = np.where(paid_flag, created + 5 + rng.exponential(90, n).astype(np.int64), -1)
    paid = np.where(paid > end, end, paid)
    shipped = paid + rng.integers(4 * 3600, 60 * 3600, n)
    confirmed = shipped + rng.integers(2 * DAY_SECONDS, 10 * DAY_SECONDS, n)
    shipped = np.where(paid_flag & (shipped <= end) & (sale | (rng.random(n) < 0.5)), shipped, -1)
    confirmed = np.where(sale & (shipped >= 0) & (confirmed <= end), confirmed, -1)

    status = np.full(n, STATUS_CLOSED, dtype=object)
    status[sale] = STATUS_PAID
    status[sale & (shipped >= 0)] = STATUS_SHIPPED
    status[sale & (confirmed >= 0)] = STATUS_COMPLETED
    pending = ~paid_flag & (created > end - DAY_SECONDS)
    status[pending] = STATUS_PENDING
    reason = np.full(n, "", dtype=object)
    reason[refunded] = REFUND_REASON
    unpaid_closed = ~paid_flag & ~pending
    reason[unpaid_closed] = np.array(CLOSE_REASONS, dtype=object)[
        rng.choice(len(CLOSE_REASONS), int(unpaid_closed.sum()), p=[0.5, 0.3, 0.1, 0.1])]
    return Orders(order_id=_order_ids(rng, n), day=day, created=created, paid=paid, shipped=shipped,
                  confirmed=confirmed, customer=customer, status=status, close_reason=reason)


# --------------------------------------------------------------------------------------------
# Behaviour log
# --------------------------------------------------------------------------------------------

def _session_events(rng: np.random.Generator, anchor: np.ndarray, pv_mean: float, p_cart: float,
                    p_fav: float, before: bool) -> tuple[np.ndarray, ...]:
    """pv (and maybe cart/fav) events of sessions anchored at ``anchor`` (local seconds).

    ``before=True`` places the session before the anchor (a purchase at the anchor);
    otherwise the session starts at the anchor. Returns (session, type, time) arrays.
    """
    n = anchor.size
    n_pv = 1 + rng.poisson(pv_mean - 1.0, n)
    session = np.repeat(np.arange(n), n_pv)
    mean_gap = 1800.0 if before else 90.0
    gaps = (5 + rng.exponential(mean_gap, session.size)).astype(np.int64)
    starts = np.r_[True, session[1:] != session[:-1]]
    offset = _group_cumsum(gaps, starts)
    pv_time = anchor[session] - offset if before else anchor[session] + offset - gaps[starts][session]
    span = offset[np.r_[starts[1:], True]]  # whole length of each session
    cart = np.flatnonzero(rng.random(n) < p_cart)
    fav = np.flatnonzero(rng.random(n) < p_fav)
    if before:
        first_gap = gaps[starts]
        cart_time = anchor[cart] - (first_gap[cart] * rng.uniform(0.05, 0.95, cart.size)).astype(np.int64)
        fav_time = anchor[fav] - (span[fav] * rng.uniform(0.05, 0.95, fav.size)).astype(np.int64)
    else:
        cart_time = anchor[cart] + span[cart] + rng.integers(3, 120, cart.size)
        fav_time = anchor[fav] + (span[fav] * rng.uniform(0.0, 1.0, fav.size)).astype(np.int64) + 2
    return (np.r_[session, cart, fav],
            np.r_[np.zeros(session.size, int), np.full(cart.size, 2), np.full(fav.size, 3)],
            np.r_[pv_time, cart_time, fav_time])


def build_events(rng: np.random.Generator, config: DemoConfig, calendar: Calendar, catalog: Catalog,
                 customers: Customers, lines: Lines, orders: Orders, expected: np.ndarray,
                 active: np.ndarray) -> tuple[dict, dict]:
    """Tianchi-style behaviour log of the last ``behavior_days`` days.

    Every order line in the window emits pv events (and maybe cart/fav) before a buy event at the
    order's creation time; browse sessions that do not buy are added so that
    ``session_conversion`` of all sessions end in a buy.
    """
    first_day = max(calendar.n_days - config.behavior_days, 0)
    window_start = calendar.day_start[first_day]
    end = calendar.day_start[-1] + DAY_SECONDS - 1
    in_window = lines.day >= first_day
    buy_item = lines.item[in_window]
    buy_user = orders.customer[lines.order[in_window]]
    buy_time = orders.created[lines.order[in_window]]
    purchase = FUNNEL["purchase_session"]
    session, kind, time = _session_events(rng, buy_time, purchase["pv_per_session"], purchase["p_cart"],
                                          purchase["p_fav"], before=True)
    n_buy = buy_item.size

    n_browse = round(n_buy * (1 - config.session_conversion) / config.session_conversion)
    weight = (expected[:, first_day:] ** 0.8 * active[:, first_day:]).ravel()
    flat = rng.choice(weight.size, n_browse, p=weight / weight.sum())
    browse_item, browse_day = np.divmod(flat, calendar.n_days - first_day)
    browse_day = browse_day + first_day
    browse_user = _pick_customers(rng, customers, catalog.category[browse_item])
    browse_start = calendar.day_start[browse_day] + _intraday_seconds(rng, np.zeros(n_browse, bool))
    browse = FUNNEL["browse_session"]
    b_session, b_kind, b_time = _session_events(rng, browse_start, browse["pv_per_session"],
                                                browse["p_cart"], browse["p_fav"], before=False)

    item = np.r_[buy_item[session], buy_item, browse_item[b_session]]
    user = np.r_[buy_user[session], buy_user, browse_user[b_session]]
    kind = np.r_[kind, np.ones(n_buy, int), b_kind]
    time = np.r_[time, buy_time, b_time]
    keep = (time >= window_start) & (time <= end)
    item, user, kind, time = item[keep], user[keep], kind[keep], time[keep]
    order = np.lexsort((kind, item, user, time))
    events = {"user": user[order], "item": item[order], "type": kind[order],
              "ts": time[order] - UTC_OFFSET_SECONDS}
    observed = {name: int((events["type"] == code).sum()) for code, name in enumerate(("pv", "buy", "cart",
                                                                                         "fav"))}
    funnel = {
        "window_start": calendar.iso(first_day), "window_end": config.end_date.isoformat(),
        "session_conversion": config.session_conversion,
        "purchase_session": purchase, "browse_session": browse,
        "sessions": {"purchase": int(n_buy), "browse": n_browse},
        "observed_counts": observed,
        "observed_rates": {"cart_per_pv": round(observed["cart"] / observed["pv"], 4),
                           "fav_per_pv": round(observed["fav"] / observed["pv"], 4),
                           "buy_per_pv": round(observed["buy"] / observed["pv"], 4)},
        "note": "each order line created in the window has a buy event at its 订单创建时间 "
                "(unix seconds = local time - 8 h); pv events precede it",
    }
    return events, funnel


# --------------------------------------------------------------------------------------------
# Reviews
# --------------------------------------------------------------------------------------------

def _choice(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _aspect_phrase(rng: np.random.Generator, aspect: str, polarity: str, category: int) -> str:
    if aspect == "质量" and rng.random() < 0.4:
        positive, negative = CATEGORIES[category].quality_phrases
        return _choice(rng, positive if polarity == "positive" else negative)
    return _choice(rng, ASPECT_PHRASES[aspect][polarity])


def review_text(rng: np.random.Generator, label: str, aspects: dict[str, str], category: int) -> str:
    """Compose a review from aspect phrases; mixed reviews use 但是 / 就是 / 虽然...但是."""
    positive = [_aspect_phrase(rng, a, p, category) for a, p in aspects.items() if p == "positive"]
    negative = [_aspect_phrase(rng, a, p, category) for a, p in aspects.items() if p == "negative"]
    majority, minority = (positive, negative) if label == "positive" else (negative, positive)
    clauses = list(majority)
    if minority:
        if label == "positive":
            link = _choice(rng, ("，就是", "，但是", "，不过"))
            clauses[-1] = clauses[-1] + link + minority[0]
        elif rng.random() < 0.5:
            clauses[0] = minority[0] + "但是" + clauses[0]
        else:
            clauses[0] = "虽然" + minority[0] + "，但是" + clauses[0]
    if rng.random() < 0.3:
        clauses.insert(0, _choice(rng, FILLERS))
    if rng.random() < 0.7:
        clauses.append(_choice(rng, OVERALL_PHRASES[label]))
    return "，".join(clauses) + _choice(rng, ("。", "！", "", "。。"))


def _review_aspects(rng: np.random.Generator, label: str, allowed: list[str], weak: str,
                    forced: str | None) -> dict[str, str]:
    """Aspects and their polarity: a main one with the review's label, maybe one contrasting."""
    others = [a for a in allowed if a != forced]
    if label == "negative":
        main = forced or (weak if rng.random() < 0.5 else _choice(rng, allowed))
        aspects = {main: "negative"}
        rest = [a for a in allowed if a != main]
        if rng.random() < 0.4:
            aspects[_choice(rng, rest)] = _choice(rng, ("positive", "negative"))
        return aspects
    count = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
    picks = rng.choice(len(others), min(count, len(others)), replace=False)
    aspects = {others[j]: "positive" for j in np.sort(picks)}
    if rng.random() < 0.12:
        minor = [a for a in allowed if a not in aspects]
        aspects[_choice(rng, minor)] = "negative"
    return aspects


def _rating(rng: np.random.Generator, label: str) -> int:
    if label == "positive":
        return int(rng.choice([5, 4, 3], p=[0.70, 0.25, 0.05]))
    return int(rng.choice([1, 2, 3, 4], p=[0.55, 0.28, 0.13, 0.04]))


def _spike_item(calendar: Calendar, lines: Lines) -> int:
    recent = lines.sale & (lines.day >= calendar.n_days - 60)
    units = np.bincount(lines.item[recent], weights=lines.qty[recent])
    return int(np.argmax(units))


def build_reviews(rng: np.random.Generator, config: DemoConfig, calendar: Calendar, catalog: Catalog,
                  lines: Lines, orders: Orders) -> tuple[pd.DataFrame, dict, dict]:
    """Reviews of completed lines, with sentiment labels, aspects and one planted negative spike.

    The spike: from ``spike_days`` before the end date, reviews of the item that sold most in the
    last 60 days are negative about 质量 with probability 0.75, and its buyers review more often.
    """
    end = calendar.day_start[-1] + DAY_SECONDS - 1
    spike_item = _spike_item(calendar, lines)
    spike_start = calendar.day_start[calendar.n_days - config.spike_days]
    confirmed = orders.confirmed[lines.order]
    review_time = confirmed + (600 + rng.exponential(1.5 * DAY_SECONDS, confirmed.size)).astype(np.int64)
    eligible = lines.sale & (confirmed >= 0) & (review_time <= end)
    in_spike = (lines.item == spike_item) & (review_time >= spike_start)
    rate = np.where(in_spike, 0.7, config.review_rate)
    chosen = np.flatnonzero(eligible & (rng.random(lines.item.size) < rate))
    chosen = chosen[np.argsort(review_time[chosen], kind="stable")]
    review_ids = unique_ints(rng, chosen.size, 10**12, 10**13).astype(str)

    rows, truth = [], {}
    for review_id, line in zip(review_ids, chosen, strict=True):
        item = int(lines.item[line])
        category = int(catalog.category[item])
        spiking = bool(in_spike[line])
        p_negative = 0.75 if spiking else catalog.negative_rate[item]
        label = "negative" if rng.random() < p_negative else "positive"
        allowed = [a for a in ASPECTS if a != "尺码" or CATEGORIES[category].sized]
        forced = "质量" if spiking and label == "negative" else None
        aspects = _review_aspects(rng, label, allowed, catalog.weak_aspect[item], forced)
        rows.append((review_id, catalog.item_id[item], int(orders.customer[lines.order[line]]),
                     _rating(rng, label), review_text(rng, label, aspects, category),
                     int(review_time[line])))
        truth[review_id] = {"label": label, "aspects": aspects}
    frame = pd.DataFrame(rows, columns=["review_id", "item_id", "customer", "rating", "text", "time"])
    spike = {"item_id": str(catalog.item_id[spike_item]), "aspect": "质量",
             "start_date": calendar.iso(calendar.n_days - config.spike_days),
             "negative_probability": 0.75, "review_rate": 0.7,
             "baseline_negative_rate": float(catalog.negative_rate[spike_item])}
    return frame, truth, spike


# --------------------------------------------------------------------------------------------
# Competitor prices
# --------------------------------------------------------------------------------------------

def build_competitor_prices(rng: np.random.Generator, config: DemoConfig, calendar: Calendar,
                            catalog: Catalog, prices: np.ndarray,
                            active: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """2-3 competitors for a subset of items, observed every 1-3 days, with occasional undercuts."""
    n_items, n_days = prices.shape
    tracked = np.sort(rng.choice(n_items, max(2, round(config.competitor_share * n_items)), replace=False))
    frames, names, undercuts = [], {}, []
    for i in tracked:
        k = int(rng.integers(2, 4))
        rivals = [COMPETITORS[j] for j in np.sort(rng.choice(len(COMPETITORS), k, replace=False))]
        names[str(catalog.item_id[i])] = rivals
        for rival in rivals:
            level = np.ones(n_days)
            day = 0
            while day < n_days:
                length = int(rng.integers(10, 41))
                level[day:day + length] = rng.uniform(0.9, 1.12)
                day += length
            price = catalog.base_price[i] * level * (1.0 - calendar.discount)
            day = 0
            while True:
                day += int(rng.geometric(0.01))
                if day >= n_days:
                    break
                length = int(rng.integers(3, 11))
                price[day:day + length] = prices[i, day:day + length] * rng.uniform(0.8, 0.93)
                if active[i, day]:
                    undercuts.append({"item_id": str(catalog.item_id[i]), "competitor": rival,
                                      "start_date": calendar.iso(day),
                                      "end_date": calendar.iso(min(day + length, n_days) - 1)})
                day += length
            cadence = int(rng.integers(1, 4))
            observed = np.flatnonzero(active[i] & (np.arange(n_days) % cadence == 0))
            seconds = rng.integers(8 * 3600, 22 * 3600, observed.size)
            frames.append(pd.DataFrame({
                "item": i, "competitor": rival, "price": nice_price(price[observed]),
                "time": calendar.day_start[observed] + seconds,
            }))
    rows = pd.concat(frames, ignore_index=True)
    rows = pd.DataFrame({"item_id": catalog.item_id[rows["item"].to_numpy()],
                         "competitor": rows["competitor"], "price": _money(rows["price"].to_numpy()),
                         "observed_at": _local_times(rows["time"].to_numpy())})
    truth = {"items": names, "undercuts": undercuts, "affects_demand": False,
             "note": "competitor prices follow regime changes every 10-40 days, join promotion "
                     "discounts, and undercut our price by 7-20% for 3-10 days at a time"}
    return rows, truth


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

def _local_times(seconds: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' strings of naive local seconds; empty where seconds < 0."""
    text = pd.to_datetime(np.maximum(seconds, 0), unit="s").strftime("%Y-%m-%d %H:%M:%S").to_numpy(object)
    return np.where(seconds >= 0, text, "")


def _money(values: np.ndarray, yuan_sign: bool = False) -> list[str]:
    if yuan_sign:
        return [f"￥{v:,.2f}" for v in values]
    return [f"{v:.2f}" for v in values]


def _excel_id(values: np.ndarray) -> np.ndarray:
    """Wrap ids as Excel formulas, ="2389012345678901", so Excel keeps every digit."""
    return np.array([f'="{v}"' for v in values], dtype=object)


def _write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


def _write_utf8_csv(path: Path, frame: pd.DataFrame, header: bool = True) -> int:
    frame.to_csv(path, index=False, header=header, encoding="utf-8", lineterminator="\n")
    return len(frame)


def _csv_cell(values: pd.Series) -> pd.Series:
    """RFC 4180 quoting where needed (commas, quotes, line breaks)."""
    needs = values.str.contains(r'[",\r\n]', regex=True)
    return values.where(~needs, '"' + values.str.replace('"', '""', regex=False) + '"')


def encode_gbk(text: str, what: str) -> bytes:
    """Encode as GBK, naming the first character that GBK cannot hold."""
    try:
        return text.encode("gbk")
    except UnicodeEncodeError as error:
        bad = error.object[error.start:error.end]
        raise ValueError(f"{what}: {bad!r} cannot be encoded in GBK") from error


def _write_tmall_csv(path: Path, frame: pd.DataFrame, raw_columns: tuple[str, ...]) -> int:
    """GBK, CRLF, as the seller centre exports it: ="..." ids are written unquoted."""
    cells = [frame[c].astype(str) if c in raw_columns else _csv_cell(frame[c].astype(str))
             for c in frame.columns]
    body = cells[0].str.cat(cells[1:], sep=",")
    text = "\r\n".join([",".join(frame.columns), *body.tolist()]) + "\r\n"
    path.write_bytes(encode_gbk(text, path.name))
    return len(frame)


def write_products(out: Path, catalog: Catalog, prices: np.ndarray) -> int:
    """products.csv: the catalogue with its price on the end date."""
    frame = pd.DataFrame({
        "item_id": catalog.item_id, "title": catalog.title,
        "category": [CATEGORIES[c].name for c in catalog.category], "brand": catalog.brand,
        "price": _money(prices[:, -1]), "cost": _money(catalog.cost),
        "status": np.where(catalog.delisted_day < prices.shape[1], "instock", "onsale"),
        "created_at": catalog.created_at, "attributes": catalog.attributes,
    })
    return _write_utf8_csv(out / "products.csv", frame[list(PRODUCT_COLUMNS)])


def customer_registration(rng: np.random.Generator, calendar: Calendar, customers: Customers,
                          orders: Orders, events: dict) -> np.ndarray:
    """Registration time (local seconds): before the customer's first order or event."""
    n = customers.user_id.size
    first = np.full(n, calendar.day_start[-1], dtype=np.int64)
    np.minimum.at(first, orders.customer, orders.created)
    np.minimum.at(first, events["user"], events["ts"] + UTC_OFFSET_SECONDS)
    lead_days = rng.exponential(300.0, n) + 1
    return first - (lead_days * DAY_SECONDS).astype(np.int64)


def write_customers(out: Path, customers: Customers, registered: np.ndarray) -> int:
    """customers.csv: nickname, home province and city, gender, age band, registration time."""
    frame = pd.DataFrame({
        "user_id": customers.user_id, "province": [CITIES[c][0] for c in customers.city],
        "city": [CITIES[c][1] for c in customers.city], "gender": customers.gender,
        "age_band": customers.age_band, "registered_at": _local_times(registered),
    })
    return _write_utf8_csv(out / "customers.csv", frame[list(CUSTOMER_COLUMNS)])


def _tracking_numbers(rng: np.random.Generator, carrier: np.ndarray) -> list[str]:
    """Tracking numbers; all-digit ones get a leading ' as Excel-minded exports do."""
    out = []
    for c, digits in zip(carrier, rng.integers(0, 10, (carrier.size, 15)), strict=True):
        _, prefix, length = CARRIERS[c]
        number = prefix + "".join(str(d) for d in digits[:length - len(prefix)])
        out.append(number if prefix and not prefix.isdigit() else "'" + number)
    return out


def _order_amounts(rng: np.random.Generator, calendar: Calendar, lines: Lines, orders: Orders) -> dict:
    """Goods, postage, total, coupon and paid amounts per order."""
    n = orders.order_id.size
    goods = np.round(np.bincount(lines.order, weights=lines.price * lines.qty, minlength=n), 2)
    postage = np.where(goods < POSTAGE_THRESHOLD, POSTAGE_FEE, 0.0)
    threshold, off = PEAK_COUPON
    coupon = np.where(calendar.peak[orders.day], np.floor(goods / threshold) * off, 0.0)
    shop_threshold, shop_off, shop_share = SHOP_COUPON
    use_shop = (coupon == 0) & (goods >= shop_threshold) & (rng.random(n) < shop_share)
    coupon = np.where(use_shop, shop_off, coupon)
    total = goods + postage
    paid = np.where(orders.paid >= 0, total - coupon, 0.0)
    return {"goods": goods, "postage": postage, "total": total, "paid": paid}


def write_order_report(rng: np.random.Generator, out: Path, calendar: Calendar, catalog: Catalog,
                       customers: Customers, lines: Lines, orders: Orders) -> int:
    """订单报表.csv: one row per order, GBK, newest first, with fake contact details."""
    n = orders.order_id.size
    amounts = _order_amounts(rng, calendar, lines, orders)
    units = np.bincount(lines.order, weights=lines.qty, minlength=n).astype(int)
    kinds = np.bincount(lines.order, minlength=n)
    line_rank = np.lexsort((np.arange(lines.order.size), lines.order))
    titles: list[list[str]] = [[] for _ in range(n)]
    for line in line_rank.tolist():
        titles[lines.order[line]].append(catalog.title[lines.item[line]])

    customer = orders.customer
    elsewhere = rng.random(n) < 0.1
    other_city = rng.choice(len(CITIES), n)
    other_address = street_addresses(rng, other_city)
    address = [other_address[k] if elsewhere[k] else customers.address[c] for k, c in enumerate(customer)]
    other_names = _person_names(rng, n)
    receiver = [other_names[k] if elsewhere[k] else customers.name[c] for k, c in enumerate(customer)]
    carrier = rng.choice(len(CARRIERS), n)
    carrier_names = np.array([c[0] for c in CARRIERS], dtype=object)
    tracking = np.where(orders.shipped >= 0, _tracking_numbers(rng, carrier), "")
    message = np.where(rng.random(n) < 0.05, np.array(BUYER_MESSAGES, dtype=object)[
        rng.integers(0, len(BUYER_MESSAGES), n)], "")
    note = np.where(rng.random(n) < 0.03, np.array(SELLER_NOTES, dtype=object)[
        rng.integers(0, len(SELLER_NOTES), n)], "")
    frame = pd.DataFrame({
        "订单编号": _excel_id(orders.order_id),
        "买家会员名": customers.user_id[customer],
        "买家支付宝账号": [customers.alipay[c] for c in customer],
        "买家应付货款": _money(amounts["goods"]),
        "买家应付邮费": _money(amounts["postage"]),
        "总金额": _money(amounts["total"], yuan_sign=True),
        "买家实际支付金额": _money(amounts["paid"], yuan_sign=True),
        "订单状态": orders.status,
        "买家留言": message,
        "收货人姓名": receiver,
        "收货地址": address,
        "运送方式": "快递",
        "联系电话": "",
        "联系手机": [customers.phone[c] for c in customer],
        "订单创建时间": _local_times(orders.created),
        "订单付款时间": _local_times(orders.paid),
        "宝贝标题": ["，".join(t) for t in titles],
        "宝贝种类": kinds,
        "物流单号": tracking,
        "物流公司": np.where(orders.shipped >= 0, carrier_names[carrier], ""),
        "订单备注": note,
        "宝贝总数量": units,
        "店铺Id": SHOP_ID,
        "店铺名称": SHOP_NAME,
        "订单关闭原因": orders.close_reason,
        "是否手机订单": np.where(rng.random(n) < SHARE_MOBILE, "手机订单", ""),
    })
    newest_first = np.lexsort((orders.order_id.astype(str), -orders.created))
    frame = frame.iloc[newest_first][list(ORDER_COLUMNS)]
    return _write_tmall_csv(out / "订单报表.csv", frame, raw_columns=("订单编号",))


def write_order_item_report(rng: np.random.Generator, out: Path, catalog: Catalog, lines: Lines,
                            orders: Orders) -> int:
    """宝贝报表.csv: one row per order line, GBK; 商家编码 and 外部系统编号 carry the item_id."""
    n = lines.item.size
    sku = [options[int(rng.integers(len(options)))] if options else ""
           for options in (catalog.sku_options[i] for i in lines.item)]
    status = orders.status[lines.order].copy()
    status[orders.close_reason[lines.order] == REFUND_REASON] = STATUS_REFUNDED
    item_id = catalog.item_id[lines.item]
    frame = pd.DataFrame({
        "订单编号": _excel_id(orders.order_id[lines.order]),
        "标题": [catalog.title[i] for i in lines.item],
        "价格": _money(lines.price),
        "购买数量": lines.qty,
        "外部系统编号": item_id,
        "商品属性": sku,
        "套餐信息": np.where(rng.random(n) < 0.05, "官方标配", ""),
        "备注": "",
        "订单状态": status,
        "商家编码": item_id,
    })
    sequence = np.lexsort((np.arange(n), lines.order, -orders.created[lines.order]))
    frame = frame.iloc[sequence][list(ORDER_ITEM_COLUMNS)]
    return _write_tmall_csv(out / "宝贝报表.csv", frame, raw_columns=("订单编号",))


def write_user_behavior(out: Path, events: dict, catalog: Catalog, customers: Customers) -> int:
    """user_behavior.csv: user_id,item_id,category_id,behavior_type,timestamp with no header."""
    category_id = np.array([spec.category_id for spec in CATEGORIES])
    frame = pd.DataFrame({
        "user_id": customers.user_id[events["user"]],
        "item_id": catalog.item_id[events["item"]],
        "category_id": category_id[catalog.category[events["item"]]],
        "behavior_type": np.array(["pv", "buy", "cart", "fav"])[events["type"]],
        "timestamp": events["ts"],
    })
    return _write_utf8_csv(out / "user_behavior.csv", frame, header=False)


def write_reviews(out: Path, reviews: pd.DataFrame, customers: Customers) -> int:
    """reviews.csv: review_id,item_id,user_id,rating,text,created_at."""
    frame = pd.DataFrame({
        "review_id": reviews["review_id"], "item_id": reviews["item_id"],
        "user_id": customers.user_id[reviews["customer"].to_numpy()], "rating": reviews["rating"],
        "text": reviews["text"],
        "created_at": _local_times(reviews["time"].to_numpy()),
    })
    return _write_utf8_csv(out / "reviews.csv", frame)


def write_inventory(out: Path, calendar: Calendar, catalog: Catalog, stock: Stock) -> int:
    """inventory.csv: daily opening stock and stock on order for every listed item-day."""
    item, day = np.nonzero(stock.active)
    dates = np.array([calendar.iso(d) for d in range(calendar.n_days)], dtype=object)
    frame = pd.DataFrame({
        "item_id": catalog.item_id[item], "date": dates[day], "on_hand": stock.opening[item, day],
        "on_order": stock.on_order[item, day], "lead_time_days": catalog.lead_time[item],
    })
    return _write_utf8_csv(out / "inventory.csv", frame)


def write_competitor_prices(out: Path, rows: pd.DataFrame) -> int:
    """competitor_prices.csv: item_id,competitor,price,observed_at."""
    return _write_utf8_csv(out / "competitor_prices.csv", rows[list(COMPETITOR_COLUMNS)])


# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------

def _price_changes(calendar: Calendar, prices: np.ndarray, item_ids: np.ndarray) -> dict:
    """Run-length daily price per item: [[first date of a price, price], ...]."""
    changed = np.ones_like(prices, dtype=bool)
    changed[:, 1:] = prices[:, 1:] != prices[:, :-1]
    return {str(item_ids[i]): [[calendar.iso(d), round(float(prices[i, d]), 2)]
                               for d in np.flatnonzero(changed[i])] for i in range(prices.shape[0])}


def ground_truth(config: DemoConfig, calendar: Calendar, catalog: Catalog, prices: np.ndarray,
                 stock: Stock, funnel: dict, reviews: dict, spike: dict, competitors: dict) -> dict:
    """Everything planted in the data, keyed for tests and model checks."""
    items = {}
    for i, item_id in enumerate(catalog.item_id):
        items[str(item_id)] = {
            "elasticity": float(catalog.elasticity[i]),
            "base_daily_demand": float(catalog.base_demand[i]),
            "base_price": round(float(catalog.base_price[i]), 2),
            "cost": float(catalog.cost[i]),
            "category": CATEGORIES[catalog.category[i]].name,
            "lead_time_days": int(catalog.lead_time[i]),
            "fixed_price": bool(catalog.fixed_price[i]),
            "in_promotions": bool(catalog.in_promotions[i]),
            "listed_from": calendar.iso(max(int(catalog.created_day[i]), 0)),
            "delisted_on": (calendar.iso(int(catalog.delisted_day[i]))
                            if catalog.delisted_day[i] < calendar.n_days else None),
            "negative_review_rate": float(catalog.negative_rate[i]),
            "weak_aspect": catalog.weak_aspect[i],
        }
    stockout = stock.active & (stock.opening == 0)
    return {
        "seed": config.seed, "scale": config.scale, "start_date": config.start_date.isoformat(),
        "end_date": config.end_date.isoformat(), "timezone": TIMEZONE,
        "shop": {"id": SHOP_ID, "name": SHOP_NAME},
        "demand_model": {
            "formula": "expected_units = base_daily_demand * weekly[dow] * yearly[category](doy) "
                       "* trend(t) * promo_multiplier[category](date) * (price / base_price) ** elasticity",
            "trend": f"exp({config.trend_per_year} * days_since_start_date / 365.25)",
            "sampling": f"lines ~ Poisson(expected_units / {MEAN_QTY}), units per line ~ 1 + "
                        f"Poisson({EXTRA_QTY_MEAN}); sales are capped by the day's opening stock",
            "sales_statuses": [STATUS_PAID, STATUS_SHIPPED, STATUS_COMPLETED],
            "note": "orders of sales statuses carry exactly the simulated sales; closed, pending "
                    "and refunded orders are extra orders that do not touch stock",
            "price_rounding": "round to whole yuan, minus 0.10 (e.g. 128.90)",
        },
        "items": items,
        "weekly_seasonality": [round(float(w), 4) for w in WEEKLY],
        "weekly_seasonality_order": "Monday first",
        "yearly_seasonality": {
            "formula": "1 + amplitude * cos(2 * pi * (day_of_year - peak_day_of_year) / 365.25)",
            "categories": {spec.name: {"amplitude": spec.yearly_amplitude,
                                       "peak_day_of_year": spec.yearly_peak_doy} for spec in CATEGORIES},
            "trend_per_year": config.trend_per_year,
        },
        "promotions": [w.as_json() for w in calendar.promotions],
        "holidays": [w.as_json() for w in calendar.holidays],
        "spring_festival": {str(y): spring_festival(y).isoformat()
                            for y in range(config.start_date.year, config.end_date.year + 2)},
        "coupons": {"peak_days": f"每满{PEAK_COUPON[0]:.0f}减{PEAK_COUPON[1]:.0f}",
                    "shop": f"满{SHOP_COUPON[0]:.0f}减{SHOP_COUPON[1]:.0f} for {SHOP_COUPON[2]:.0%} of "
                            "eligible orders on other days",
                    "postage": f"{POSTAGE_FEE:.2f} when goods < {POSTAGE_THRESHOLD:.0f}"},
        "price_history": _price_changes(calendar, prices, catalog.item_id),
        "funnel": funnel,
        "category_ids": {spec.name: spec.category_id for spec in CATEGORIES},
        "status_mapping": STATUS_MAPPING,
        "reviews": reviews,
        "planted_spike": spike,
        "stockout_days": {str(catalog.item_id[i]): [calendar.iso(d) for d in np.flatnonzero(stockout[i])]
                          for i in range(stockout.shape[0]) if stockout[i].any()},
        "stockout_definition": "inventory.on_hand is the opening stock of the day (after that "
                               "morning's receipts); a day with on_hand == 0 has no sales",
        "competitors": competitors,
        "formats": {
            "订单报表.csv": "GBK, CRLF; 订单编号 as =\"digits\" (16-19 digits); 总金额 and 买家实际支付金额 "
                         "as ￥1,299.00, other money plain; 联系手机 masked; 物流单号 with a leading ' "
                         "when all digits",
            "宝贝报表.csv": "GBK, CRLF; 商家编码 and 外部系统编号 = item_id; refunded lines say 退款成功",
            "user_behavior.csv": "no header; user_id is the 买家会员名; timestamp is unix seconds (UTC)",
            "times": "all other timestamps are shop-local (Asia/Shanghai) 'YYYY-MM-DD HH:MM:SS'",
        },
    }


def clean_price_changes(truth: dict, end: date, before_days: int = 28, after_days: int = 28) -> list[tuple]:
    """(item, day, old price, new price) of the regular price changes in ``truth`` (a
    ``ground_truth.json``) that held one price through ``before_days`` before and ``after_days``
    from the change, within the data up to ``end``, while listed and in stock: the changes whose
    effect a before/after comparison can measure (tests and the demo's past decisions use them)."""
    changes = []
    for item_id, runs in truth["price_history"].items():
        out = set(truth["stockout_days"].get(item_id, []))
        listed = truth["items"][item_id]["listed_from"], truth["items"][item_id]["delisted_on"] or "9999"
        for k in range(1, len(runs) - 1):
            start = date.fromisoformat(runs[k][0])
            prev_start, next_start = date.fromisoformat(runs[k - 1][0]), date.fromisoformat(runs[k + 1][0])
            if (start - prev_start).days < before_days or (next_start - start).days < after_days:
                continue
            days = {(start + timedelta(days=d)).isoformat() for d in range(-before_days, after_days)}
            if start + timedelta(days=after_days) > end or days & out or runs[k][1] == runs[k - 1][1] \
                    or not listed[0] <= min(days) <= max(days) < listed[1]:
                continue
            changes.append((item_id, start.isoformat(), runs[k - 1][1], runs[k][1]))
    return changes
