"""Date formats the pages use, by name (`|date:"SHORT_DATETIME_FORMAT"`), in English: the
weekday first, then month and day ("Wed Dec 2, 19:00")."""

DATETIME_FORMAT = "D M j Y, H:i"
SHORT_DATETIME_FORMAT = "D M j, H:i"
DATE_FORMAT = "M j, Y"
SHORT_DATE_FORMAT = "D M j, Y"
