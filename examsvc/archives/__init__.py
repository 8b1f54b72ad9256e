"""Archives (档案): retention of a session's electronic records and the verifiable archive package
(seed Art. 30, 41: 电子材料保管不少于5年，可追溯、可倒查)."""
