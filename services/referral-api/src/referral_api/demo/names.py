"""Invented names for the persons of the demo's recent referrals: common first names
and surnames of each programme country, combined at random, never a real person's
record. Bulgarian and Macedonian surnames are stored in their masculine form and
take the feminine ending for women."""

from __future__ import annotations

GIVEN_FEMALE: dict[str, tuple[str, ...]] = {
    "AL": ("Anila", "Brikena", "Dorina", "Entela", "Fjoralba", "Ilda", "Lindita", "Orjana"),
    "XK": ("Albulena", "Blerina", "Dafina", "Edona", "Hana", "Kaltrina", "Njomza", "Qendresa"),
    "BA": ("Alma", "Dženana", "Edina", "Ilma", "Lamija", "Maida", "Naida", "Sabina"),
    "BG": ("Boryana", "Galina", "Kalina", "Lyubov", "Neli", "Rositsa", "Silviya", "Yoana"),
    "MK": ("Bisera", "Gordana", "Ljubica", "Maja", "Natasha", "Tanja", "Verica", "Zorica"),
    "RO": ("Alina", "Camelia", "Daniela", "Florentina", "Georgiana", "Larisa", "Roxana"),
    "RS": ("Danijela", "Katarina", "Ljiljana", "Marina", "Mirjana", "Olivera", "Tamara"),
}
GIVEN_MALE: dict[str, tuple[str, ...]] = {
    "AL": ("Altin", "Bledar", "Edmond", "Fatmir", "Gëzim", "Jetmir", "Lulzim", "Olsi"),
    "XK": ("Arbër", "Arlind", "Blerim", "Egzon", "Fitim", "Kushtrim", "Lavdim", "Shpend"),
    "BA": ("Almir", "Dino", "Faruk", "Jasmin", "Mensur", "Samir", "Vedran", "Zlatan"),
    "BG": ("Angel", "Boyan", "Kaloyan", "Lyubomir", "Plamen", "Rumen", "Svetoslav", "Vasil"),
    "MK": ("Blagoj", "Darko", "Igor", "Kiril", "Ljupčo", "Mile", "Trajče", "Vasko"),
    "RO": ("Alexandru", "Claudiu", "Dorin", "Florin", "Gabriel", "Sorin", "Valentin"),
    "RS": ("Aleksa", "Dejan", "Filip", "Lazar", "Luka", "Milan", "Ognjen", "Slobodan"),
}
FAMILY: dict[str, tuple[str, ...]] = {
    "AL": ("Basha", "Cani", "Duka", "Hasani", "Lika", "Marku", "Prifti", "Shkurti", "Xhafa"),
    "XK": ("Ahmeti", "Bajrami", "Gjoni", "Haliti", "Kryeziu", "Rexhepi", "Sylejmani", "Zeqiri"),
    "BA": ("Alić", "Bešić", "Ćosić", "Durmić", "Husić", "Karić", "Mujić", "Pašić"),
    "BG": ("Angelov", "Borisov", "Hristov", "Kostadinov", "Marinov", "Pavlov", "Zhelev"),
    "MK": ("Andonovski", "Dimovski", "Georgievski", "Kostovski", "Mitrevski", "Naumovski"),
    "RO": ("Barbu", "Constantin", "Dinu", "Florea", "Lungu", "Nistor", "Rusu", "Toma"),
    "RS": ("Kostić", "Lazić", "Mitić", "Pavlović", "Radić", "Savić", "Simić", "Živković"),
}
# The language a person of each nationality most likely speaks (ISO 639-1).
LANGUAGES = {"AL": "sq", "XK": "sq", "BA": "bs", "BG": "bg", "MK": "mk", "RO": "ro", "RS": "sr"}

_FEMININE_ENDINGS = (("ski", "ska"), ("ov", "ova"), ("ev", "eva"))


def family_name(surname: str, *, female: bool) -> str:
    """The surname as a woman of that family carries it, where the language says so."""
    if female:
        for masculine, feminine in _FEMININE_ENDINGS:
            if surname.endswith(masculine):
                return surname[: -len(masculine)] + feminine
    return surname
