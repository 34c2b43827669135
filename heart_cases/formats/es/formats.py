"""The same formats in Spanish: day before month, months in lower case ("mié 2 dic, 19:00")."""

DATETIME_FORMAT = "D j b Y, H:i"
SHORT_DATETIME_FORMAT = "D j b, H:i"
DATE_FORMAT = "j b Y"
SHORT_DATE_FORMAT = "D j b Y"
