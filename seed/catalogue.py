"""The incident catalogue as plain data: 20 categories, 83 items, time limits, departments.

Nothing here touches a database. The seeder copies it into the tables once; after that,
users edit items and limits in the product, so treat this as a starting point, not law.
"""
from __future__ import annotations

from dataclasses import dataclass

URGENT, NORMAL, LOW = "urgent", "normal", "low"
PRIORITIES = (URGENT, NORMAL, LOW)
STAGES = ("accept", "dispatch", "handle", "check")
CALENDAR, WORKING = "calendar", "working"
CITY, TOWN, VILLAGE = "city", "town", "village"

HOUR = 60
# One working day as the working clock counts it (models/sla.py: 08:30–12:00 and 14:00–18:00),
# so "5 working days" means five civil-service days, not 120 working hours.
WORKING_DAY = 7 * HOUR + 30


@dataclass(frozen=True)
class ItemSpec:
    code: str
    name_zh: str
    name_en: str
    priority: str


@dataclass(frozen=True)
class CategorySpec:
    code: int
    key: str
    name_zh: str
    name_en: str
    is_dispute: bool
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class LimitSpec:
    stage: str
    minutes: int
    clock: str
    priority: str | None = None
    category: int | None = None
    item: str | None = None


@dataclass(frozen=True)
class DepartmentSpec:
    key: str
    name_zh: str
    name_en: str
    levels: tuple[str, ...]
    categories: tuple[int, ...]
    items: tuple[str, ...] = ()
    mediator: bool = False


def _category(
    code: int, key: str, name_zh: str, name_en: str, *items: ItemSpec
) -> CategorySpec:
    # Disputes are the one category third-party mediators take and the 化解率 counts.
    return CategorySpec(code, key, name_zh, name_en, code == 9, items)


CATEGORIES: tuple[CategorySpec, ...] = (
    _category(
        1, "fire", "消防安全", "Fire safety",
        ItemSpec("01-01", "消防通道堵塞", "Blocked fire exit", URGENT),
        ItemSpec("01-02", "居住场所违规存放易燃物品", "Illegal residential storage", URGENT),
        ItemSpec("01-03", "消防器材缺失或失效", "Faulty extinguishers", NORMAL),
        ItemSpec("01-04", "电动自行车违规停放充电", "E-bike charged indoors", URGENT),
    ),
    _category(
        2, "work_safety", "安全生产", "Work safety",
        ItemSpec("02-01", "生产经营场所安全隐患", "Unsafe workshop", NORMAL),
        ItemSpec("02-02", "危险化学品违规储存使用", "Hazardous chemicals", URGENT),
        ItemSpec("02-03", "瓶装燃气违规储存使用", "Gas cylinders", URGENT),
        ItemSpec("02-04", "特种设备安全隐患", "Unsafe lift or boiler", NORMAL),
        ItemSpec("02-05", "建筑施工安全隐患", "Unsafe construction site", NORMAL),
    ),
    _category(
        3, "food_drug", "食品药品安全", "Food and drug safety",
        ItemSpec("03-01", "无证食品摊贩", "Unlicensed food stall", NORMAL),
        ItemSpec("03-02", "销售过期变质食品", "Expired goods", NORMAL),
        ItemSpec("03-03", "餐饮单位卫生不达标", "Unhygienic restaurant", NORMAL),
        ItemSpec("03-04", "无证销售药品", "Unlicensed drug sales", NORMAL),
    ),
    _category(
        4, "health", "卫生监督", "Health supervision",
        ItemSpec("04-01", "无证行医", "Unlicensed clinic", NORMAL),
        ItemSpec("04-02", "公共场所卫生不达标", "Public-place hygiene", NORMAL),
        ItemSpec("04-03", "生活饮用水卫生问题", "Drinking-water hygiene", NORMAL),
        ItemSpec("04-04", "病媒生物孳生", "Rats, mosquitoes and pests", NORMAL),
    ),
    _category(
        5, "market", "市场监管", "Market supervision",
        ItemSpec("05-01", "无照经营", "Unlicensed business", NORMAL),
        ItemSpec("05-02", "价格欺诈", "Price fraud", NORMAL),
        ItemSpec("05-03", "销售假冒伪劣商品", "Counterfeit goods", NORMAL),
        ItemSpec("05-04", "消费侵权投诉", "Consumer complaint", NORMAL),
    ),
    _category(
        6, "business", "工商行政管理", "Business administration",
        ItemSpec("06-01", "营业执照未按规定公示", "Licence not displayed", LOW),
        ItemSpec("06-02", "超经营范围经营", "Trading outside licence", NORMAL),
        ItemSpec("06-03", "登记信息与实际不符", "Outdated registration", LOW),
    ),
    _category(
        7, "public_safety", "公共安全", "Public safety",
        ItemSpec("07-01", "危房", "Dangerous structure", URGENT),
        ItemSpec("07-02", "电线电缆掉落或裸露", "Fallen or exposed cables", URGENT),
        ItemSpec("07-03", "高空坠物隐患", "Falling-object risk", URGENT),
        ItemSpec("07-04", "无防护水域及坑洞", "Unguarded pond or pit", URGENT),
    ),
    _category(
        8, "public_order", "社会治安隐患", "Public-order hazards",
        ItemSpec("08-01", "聚众赌博", "Gambling", NORMAL),
        ItemSpec("08-02", "涉毒线索", "Drug activity", NORMAL),
        ItemSpec("08-03", "可疑人员或物品", "Suspicious person or object", URGENT),
        ItemSpec("08-04", "治安乱点", "Public disorder", NORMAL),
    ),
    _category(
        9, "dispute", "矛盾纠纷", "Disputes",
        ItemSpec("09-01", "邻里纠纷", "Neighbourhood dispute", NORMAL),
        ItemSpec("09-02", "婚姻家庭纠纷", "Family dispute", NORMAL),
        ItemSpec("09-03", "劳资纠纷", "Labour dispute", NORMAL),
        ItemSpec("09-04", "医疗纠纷", "Medical dispute", NORMAL),
        ItemSpec("09-05", "交通事故纠纷", "Traffic accident dispute", NORMAL),
        ItemSpec("09-06", "土地山林纠纷", "Land dispute", NORMAL),
    ),
    _category(
        10, "rental", "出租屋与流动人口", "Rental housing and migrants",
        ItemSpec("10-01", "流动人口未登记", "Unregistered tenants", LOW),
        ItemSpec("10-02", "出租屋群租或超员居住", "Overcrowded rental", NORMAL),
        ItemSpec("10-03", "出租屋未登记备案", "Unregistered rental", LOW),
        ItemSpec("10-04", "出租屋房屋设施隐患", "Rental housing defects", NORMAL),
    ),
    _category(
        11, "special_groups", "特殊人群", "Special groups",
        ItemSpec("11-01", "社区矫正对象异常", "Community corrections", NORMAL),
        ItemSpec("11-02", "刑满释放人员帮教", "Released prisoners", NORMAL),
        ItemSpec("11-03", "严重精神障碍患者异常", "Mental illness", URGENT),
        ItemSpec("11-04", "流浪乞讨人员", "Homeless and beggars", NORMAL),
    ),
    _category(
        12, "community", "社区服务", "Community services",
        ItemSpec("12-01", "独居老人关爱", "Elderly living alone", NORMAL),
        ItemSpec("12-02", "困难群众救助", "Social assistance", NORMAL),
        ItemSpec("12-03", "残疾人帮扶", "Disability support", NORMAL),
        ItemSpec("12-04", "便民服务诉求", "Service request", LOW),
    ),
    _category(
        13, "preschool", "学龄前儿童信息采集", "Preschool children data collection",
        ItemSpec("13-01", "学龄前儿童未登记", "Unregistered child", LOW),
        ItemSpec("13-02", "学龄前儿童信息变更", "Child details changed", LOW),
        ItemSpec("13-03", "学龄前儿童未按时接种疫苗", "Missed vaccination", LOW),
    ),
    _category(
        14, "sanitation", "环境卫生", "Sanitation",
        ItemSpec("14-01", "生活垃圾清运不及时", "Garbage not collected", NORMAL),
        ItemSpec("14-02", "道路不洁", "Dirty street", LOW),
        ItemSpec("14-03", "乱倒垃圾/大件垃圾", "Illegal dumping and bulky waste", NORMAL),
        ItemSpec("14-04", "公厕脏乱", "Dirty public toilet", LOW),
        ItemSpec("14-05", "动物尸体清理", "Dead animal", NORMAL),
    ),
    _category(
        15, "city_order", "市容秩序", "City appearance and order",
        ItemSpec("15-01", "占道经营", "Street vendors", NORMAL),
        ItemSpec("15-02", "乱张贴小广告/乱涂画", "Graffiti and flyers", LOW),
        ItemSpec("15-03", "违法建设", "Illegal construction", NORMAL),
        ItemSpec("15-04", "违规户外广告招牌", "Illegal signs", NORMAL),
    ),
    _category(
        16, "environment", "环境保护", "Environmental protection",
        ItemSpec("16-01", "噪声扰民", "Noise", NORMAL),
        ItemSpec("16-02", "废气油烟污染", "Smoke and fumes", NORMAL),
        ItemSpec("16-03", "污水直排", "Sewage discharge", NORMAL),
        ItemSpec("16-04", "露天焚烧", "Open burning", URGENT),
    ),
    _category(
        17, "traffic", "交通安全", "Traffic safety",
        ItemSpec("17-01", "违法停车", "Illegal parking", NORMAL),
        ItemSpec("17-02", "交通信号灯及标志损坏", "Broken signal or sign", URGENT),
        ItemSpec("17-03", "僵尸车/废弃车辆", "Abandoned vehicle", LOW),
        ItemSpec("17-04", "非法营运及客运违规", "Illegal taxi or ride-hail", NORMAL),
    ),
    _category(
        18, "facilities", "城市部件设施", "Municipal facilities",
        ItemSpec("18-01", "井盖缺失破损", "Missing manhole cover", URGENT),
        ItemSpec("18-02", "路灯故障", "Street light out", NORMAL),
        ItemSpec("18-03", "道路破损", "Damaged road or pavement", NORMAL),
        ItemSpec("18-04", "供排水设施故障", "Water or drain fault", NORMAL),
        ItemSpec("18-05", "园林绿化损坏", "Damaged tree or greenery", NORMAL),
        ItemSpec("18-06", "公共设施损坏", "Damaged public fixture", LOW),
    ),
    _category(
        19, "labour", "劳动保障", "Labour protection",
        ItemSpec("19-01", "拖欠工资", "Wage arrears", NORMAL),
        ItemSpec("19-02", "未签订劳动合同", "No labour contract", LOW),
        ItemSpec("19-03", "非法使用童工", "Child labour", URGENT),
    ),
    _category(
        20, "disaster", "三防与自然灾害", "Floods, typhoons and geological hazards",
        ItemSpec("20-01", "内涝积水", "Waterlogging", URGENT),
        ItemSpec("20-02", "山体滑坡隐患", "Landslide risk", URGENT),
        ItemSpec("20-03", "河堤水库险情", "Dyke or reservoir danger", URGENT),
        ItemSpec("20-04", "三防设施损坏", "Damaged flood-control equipment", NORMAL),
    ),
)

# Every stage × priority has a default; overrides follow, most general first.
LIMITS: tuple[LimitSpec, ...] = (
    LimitSpec("accept", 30, CALENDAR, URGENT),
    LimitSpec("accept", 2 * HOUR, CALENDAR, NORMAL),
    LimitSpec("accept", 4 * HOUR, CALENDAR, LOW),
    LimitSpec("dispatch", 30, CALENDAR, URGENT),
    LimitSpec("dispatch", 2 * HOUR, CALENDAR, NORMAL),
    LimitSpec("dispatch", 8 * HOUR, CALENDAR, LOW),
    LimitSpec("handle", 2 * HOUR, CALENDAR, URGENT),
    LimitSpec("handle", 24 * HOUR, CALENDAR, NORMAL),
    LimitSpec("handle", 3 * WORKING_DAY, WORKING, LOW),
    LimitSpec("check", 2 * HOUR, CALENDAR, URGENT),
    LimitSpec("check", 24 * HOUR, CALENDAR, NORMAL),
    LimitSpec("check", 2 * WORKING_DAY, WORKING, LOW),
    # Mediation takes meetings with both sides; a day is never enough.
    LimitSpec("handle", 7 * WORKING_DAY, WORKING, category=9),
    # Data collection waits for parents to be home.
    LimitSpec("handle", 5 * WORKING_DAY, WORKING, category=13),
    LimitSpec("check", 5 * WORKING_DAY, WORKING, category=13),
    LimitSpec("accept", 15, CALENDAR, URGENT, category=20),
    LimitSpec("dispatch", 15, CALENDAR, URGENT, category=20),
    LimitSpec("handle", 12 * HOUR, CALENDAR, NORMAL, category=14),
    LimitSpec("handle", 1 * HOUR, CALENDAR, URGENT, item="02-03"),
    LimitSpec("handle", 4 * HOUR, CALENDAR, item="01-01"),
    LimitSpec("handle", 1 * HOUR, CALENDAR, URGENT, item="20-01"),
    # Medical disputes wait for records and expert opinions.
    LimitSpec("handle", 15 * WORKING_DAY, WORKING, item="09-04"),
    LimitSpec("accept", 15, CALENDAR, URGENT, item="12-01"),
    LimitSpec("handle", 10 * WORKING_DAY, WORKING, item="19-01"),
)

CITY_TOWN = (CITY, TOWN)

DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("police_bureau", "公安局", "Public Security Bureau", (CITY,), categories=(8,),
                   items=("10-01", "11-03")),
    DepartmentSpec(
        "police", "派出所", "Police station", (TOWN,),
        categories=(8,), items=("10-01", "11-03"),
    ),
    DepartmentSpec(
        "traffic_police", "交警大队", "Traffic police", CITY_TOWN,
        categories=(17,), items=("09-05",),
    ),
    DepartmentSpec(
        "fire", "消防救援", "Fire and rescue", CITY_TOWN,
        categories=(1,), items=("07-04",),
    ),
    DepartmentSpec(
        "market", "市场监督管理", "Market supervision", CITY_TOWN,
        categories=(3, 5, 6), items=("02-04",),
    ),
    DepartmentSpec(
        "work_safety", "应急管理(安监)", "Emergency management and work safety", CITY_TOWN,
        categories=(2, 7, 20),
    ),
    DepartmentSpec(
        "health", "卫生健康", "Health", CITY_TOWN,
        categories=(4,), items=("13-03",),
    ),
    DepartmentSpec(
        "urban_management", "城市管理综合执法", "Urban management enforcement", CITY_TOWN,
        categories=(15, 18), items=("03-01", "14-03", "17-03"),
    ),
    DepartmentSpec("sanitation", "环卫", "Sanitation", CITY_TOWN, categories=(14,)),
    DepartmentSpec(
        "civil_affairs", "民政", "Civil affairs", CITY_TOWN,
        categories=(12,), items=("11-04",),
    ),
    DepartmentSpec(
        "justice_bureau", "司法局", "Justice bureau", (CITY,),
        categories=(9,), items=("11-01", "11-02"),
    ),
    DepartmentSpec(
        "justice", "司法所", "Justice office", (TOWN,),
        categories=(9,), items=("11-01", "11-02"),
    ),
    DepartmentSpec(
        "mediation", "人民调解委员会", "People's mediation committee", (TOWN, VILLAGE),
        categories=(9,),
    ),
    DepartmentSpec(
        "housing", "住房和城乡建设", "Housing and construction", CITY_TOWN,
        categories=(), items=("02-05", "07-01", "07-03", "10-04"),
    ),
    DepartmentSpec(
        "natural_resources", "自然资源", "Natural resources", CITY_TOWN,
        categories=(), items=("09-06", "15-03", "20-02"),
    ),
    DepartmentSpec("environment", "生态环境", "Ecology and environment", CITY_TOWN, categories=(16,)),
    DepartmentSpec(
        "water", "水务", "Water affairs", CITY_TOWN,
        categories=(), items=("16-03", "18-04", "20-01", "20-03", "20-04"),
    ),
    DepartmentSpec(
        "transport", "交通运输", "Transport", CITY_TOWN,
        categories=(), items=("17-04", "18-03"),
    ),
    DepartmentSpec(
        "human_resources", "人力资源和社会保障", "Human resources and social security", CITY_TOWN,
        categories=(19,), items=("09-03",),
    ),
    DepartmentSpec("education", "教育", "Education", CITY_TOWN, categories=(13,)),
    DepartmentSpec("rental", "出租屋管理", "Rental housing management", CITY_TOWN, categories=(10,)),
    DepartmentSpec(
        "medical_mediation", "医调委", "Medical dispute mediation committee", (CITY,),
        categories=(), items=("09-04",), mediator=True,
    ),
    DepartmentSpec(
        "traffic_mediation", "交调中心", "Traffic dispute mediation centre", (CITY,),
        categories=(), items=("09-05",), mediator=True,
    ),
    DepartmentSpec(
        "peace_association", "平安建设促进会", "Safe-city promotion association", (CITY,),
        categories=(9,), mediator=True,
    ),
    # Village committees settle what neighbours can settle: records, care and tidy streets.
    DepartmentSpec(
        "village_committee", "村(居)民委员会", "Village or residents' committee", (VILLAGE,),
        categories=(10, 12, 13), items=("14-01", "14-02", "14-04"),
    ),
)

def all_items() -> list[tuple[CategorySpec, ItemSpec]]:
    """Every (category, item) pair, in catalogue order."""
    return [(category, item) for category in CATEGORIES for item in category.items]


def category_by_key(key: str) -> CategorySpec:
    for category in CATEGORIES:
        if category.key == key:
            return category
    known = ", ".join(c.key for c in CATEGORIES)
    raise KeyError(f"no category {key!r}; known: {known}")
