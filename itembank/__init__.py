"""The measurement core library of the item bank: pure Python, no Flask, no service imports."""
