"""Reference data of the synthetic city (kept in tables, one row a line, rather than one value a line)."""

from __future__ import annotations

import numpy as np

# fmt: off
PROVINCE = ("320000", "江苏省", "Jiangsu")
CITY = ("320100", "南京市", "Nanjing")

# Nanjing's real districts: code, name, English name, resident population in the 2020 census
# (tens of thousands, used as weights), whether it is suburban (towns and villages), and real
# street/town names. Weights keep the core districts small and Jiangning large, as in life;
# the order is the order in which districts are added as the population grows.
DISTRICTS = [
    ("320102", "玄武区", "Xuanwu", 53.7, False, "梅园新村 新街口 玄武门 锁金村 红山 孝陵卫 玄武湖"),
    ("320104", "秦淮区", "Qinhuai", 74.0, False,
     "夫子庙 朝天宫 瑞金路 月牙湖 光华路 中华门 双塘 红花 秦虹 大光路 五老村 洪武路"),
    ("320105", "建邺区", "Jianye", 53.5, False, "莫愁湖 沙洲 双闸 江心洲 兴隆 南苑"),
    ("320106", "鼓楼区", "Gulou", 94.0, False,
     "华侨路 湖南路 中央门 挹江门 江东 凤凰 宁海路 热河南路 幕府山 建宁路 宝塔桥 小市"),
    ("320113", "栖霞区", "Qixia", 98.8, False, "尧化 马群 迈皋桥 燕子矶 栖霞 龙潭 仙林 八卦洲 西岗"),
    ("320115", "江宁区", "Jiangning", 192.6, True, "东山 秣陵 汤山 淳化 禄口 江宁 谷里 湖熟 横溪 麒麟"),
    ("320114", "雨花台区", "Yuhuatai", 60.9, False, "雨花 赛虹桥 西善桥 板桥 铁心桥 梅山 古雄"),
    ("320111", "浦口区", "Pukou", 117.2, True, "泰山 顶山 沿江 江浦 桥林 汤泉 盘城 星甸 永宁"),
    ("320116", "六合区", "Luhe", 94.6, True, "雄州 龙池 程桥 金牛湖 横梁 龙袍 马鞍 冶山 竹镇"),
    ("320117", "溧水区", "Lishui", 49.1, True, "永阳 柘塘 洪蓝 石湫 东屏 晶桥 白马 和凤"),
    ("320118", "高淳区", "Gaochun", 43.0, True, "淳溪 古柏 漆桥 固城 砖墙 东坝 桠溪 阳江"),
]

PLACE_WORDS = (
    "长江 丹凤 珠江 进香 太平 锦绣 新华 东风 红旗 光明 天河 明珠 怡康 紫金 南湖 北苑 西园 东城 "
    "金陵 玉泉 翠竹 银杏 桃园 梧桐 石榴 枫林 清凉 莲花 龙江 银城 华新 幸福 和平 文昌 盛世 春江 "
    "秋实 百合 香樟 芳草 青石 双桥 三元 五福 六合 七里 九华 十里 安居 康乐 惠民 瑞景 嘉禾 景明 "
    "宏图 兴隆 丰收 永安 同心 新河 马台 石门 古槐 柳营 杏林 竹园 梅岭 兰苑 菊园 荷塘 樱花 月华 "
    "星河 朝阳 晓庄 御道 仁寿 积善 乐业 德馨 崇文 尚书 状元 学府 书香 静安 平江 方山 凤栖 雁南"
).split()
VILLAGE_SUFFIXES = ["", "", "庄", "桥", "塘", "圩", "岗", "营", "湾", "店", "山", "巷"]
COMMUNITY_SUFFIXES = ["里", "苑", "园", "新村", "路", "桥", "街", "湾", "坊", "花园", "", ""]
ESTATE_SUFFIXES = ["花园", "小区", "新村", "家园", "苑", "公寓", "名邸", "雅居"]

# The 7th national census (2020): percent of the population in each five-year age band
# (0-4 ... 100+), and the share of men in it (fewer men among the old).
AGE_BANDS = np.array([
    5.49, 6.37, 6.18, 5.24, 5.33, 6.58, 8.79, 6.99, 6.63, 8.00, 8.67, 7.17, 5.22, 5.51, 3.79,
    2.39, 1.60, 0.87, 0.30, 0.06, 0.01,
])
MALE_SHARE = np.array([
    0.526, 0.535, 0.539, 0.541, 0.533, 0.517, 0.510, 0.508, 0.508, 0.505, 0.503, 0.501, 0.496,
    0.490, 0.485, 0.470, 0.440, 0.400, 0.340, 0.290, 0.250,
])
# Household sizes 1..6 (mean 2.59; the 7th census counts 2.62 persons per family household).
HOUSEHOLD_SIZES = np.array([0.25, 0.30, 0.21, 0.13, 0.07, 0.04])

# The most common surnames and their share in percent (2020 national ranking).
SURNAMES = (
    "王7.12 李7.0 张6.74 刘5.38 陈4.53 杨3.08 黄2.45 赵2.16 吴2.05 周1.92 徐1.61 孙1.51 马1.44 "
    "朱1.35 胡1.30 郭1.15 何1.15 林1.09 高1.0 罗0.98 郑0.83 梁0.83 谢0.75 宋0.72 唐0.70 许0.67 "
    "韩0.66 冯0.63 邓0.62 曹0.61 彭0.60 曾0.58 肖0.57 田0.56 董0.52 潘0.50 袁0.50 蔡0.47 蒋0.47 "
    "余0.45 于0.45 杜0.45 叶0.44 程0.42 魏0.41 苏0.41 吕0.40 丁0.40 任0.39 卢0.36 姚0.36 沈0.35 "
    "钟0.35 姜0.34 崔0.33 谭0.32 陆0.32 范0.30 汪0.30 廖0.29 石0.29 金0.28 韦0.28 贾0.28 夏0.27 "
    "付0.26 方0.26 邹0.25 熊0.25 白0.25 孟0.24 秦0.24 邱0.24 侯0.23 江0.23 尹0.22 薛0.22 闫0.22 "
    "段0.21 雷0.21 龙0.20 黎0.20 史0.20 陶0.20 贺0.19 毛0.18 郝0.18 顾0.18 龚0.17 邵0.17 万0.17 "
    "钱0.16 武0.16 戴0.16 严0.15 孔0.15 向0.15 常0.14 汤0.14 欧阳0.05 诸葛0.01 司马0.01"
).split()
SURNAME_NAMES = [s.rstrip("0123456789.") for s in SURNAMES]
SURNAME_WEIGHTS = np.array([float(s[len(n):]) for s, n in zip(SURNAMES, SURNAME_NAMES, strict=True)])
MALE_CHARS = list(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国志文海东峰成亮晨博子轩睿泽然"
    "宏永立新德春金兵庆生荣祥晓天一佳嘉诚皓铭昊宸逸豪毅云振家"
)
FEMALE_CHARS = list(
    "芳娜敏静丽艳娟霞燕玲桂英秀兰红梅琳洁婷雪慧颖倩欣怡佳萱雨诗涵梦晴悦琪晶萍莉丹蕾璐瑶琴凤玉美淑"
    "珍月思宁妍彤可心馨若梓依"
)
# Mobile number prefixes of the three carriers.
PHONE_PREFIXES = np.array(
    list(range(130, 140)) + [145, 147, 150, 151, 152, 153, 155, 156, 157, 158, 159, 166]
    + [173, 175, 176, 177, 178] + list(range(180, 190)) + [191, 198, 199],
    dtype=np.int64,
)
# fmt: on
CN_DIGITS = "〇一二三四五六七八九"
DAYS_PER_YEAR = 365.2425
GUARDIAN_AGE = 14  # children under this carry a guardian's phone


def cn_number(n: int) -> str:
    """1..99 in Chinese numerals, as in 第十二网格."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return CN_DIGITS[ones]
    return f"{'' if tens == 1 else CN_DIGITS[tens]}十{CN_DIGITS[ones] if ones else ''}"
