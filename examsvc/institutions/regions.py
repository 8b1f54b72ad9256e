"""Inner Mongolia's leagues and cities (盟市), where league/city institutions work (seed Art. 12)."""

LEAGUES_AND_CITIES: tuple[str, ...] = (
    "呼和浩特市", "包头市", "呼伦贝尔市", "兴安盟", "通辽市", "赤峰市", "锡林郭勒盟",
    "乌兰察布市", "鄂尔多斯市", "巴彦淖尔市", "乌海市", "阿拉善盟", "满洲里市", "二连浩特市",
)
