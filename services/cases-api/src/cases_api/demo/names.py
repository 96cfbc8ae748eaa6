"""Invented names per nationality for synthetic beneficiaries: common first names and
surnames combined at random, never a real person's record."""

from __future__ import annotations

GIVEN_FEMALE: dict[str, tuple[str, ...]] = {
    "AL": ("Ardita", "Blerta", "Drita", "Elira", "Flutura", "Jonida", "Klea", "Mirela", "Rea"),
    "XK": ("Arta", "Besa", "Donika", "Fatime", "Lirije", "Mimoza", "Teuta", "Vjosa", "Zana"),
    "BA": ("Amra", "Azra", "Emina", "Lejla", "Merima", "Selma", "Sanela", "Jasmina", "Nermina"),
    "BG": ("Desislava", "Elena", "Gergana", "Ivanka", "Mariya", "Petya", "Radka", "Tsvetelina"),
    "MK": ("Ana", "Biljana", "Elena", "Jasmina", "Marija", "Sanja", "Vesna", "Katerina", "Irena"),
    "RO": ("Andreea", "Bianca", "Elena", "Ioana", "Loredana", "Mihaela", "Raluca", "Simona"),
    "RS": ("Dragana", "Jelena", "Ivana", "Milica", "Nevena", "Snežana", "Tijana", "Jovana"),
}
GIVEN_MALE: dict[str, tuple[str, ...]] = {
    "AL": ("Arben", "Besnik", "Dritan", "Erion", "Gentian", "Ilir", "Klodian", "Sokol"),
    "XK": ("Agon", "Bekim", "Driton", "Fatos", "Labinot", "Valon", "Visar", "Ylber"),
    "BA": ("Adnan", "Amir", "Emir", "Haris", "Kenan", "Mirza", "Nedim", "Tarik"),
    "BG": ("Dimitar", "Georgi", "Ivan", "Nikolay", "Petar", "Stoyan", "Todor", "Yordan"),
    "MK": ("Aleksandar", "Bojan", "Dragan", "Goran", "Nikola", "Stefan", "Vlatko", "Zoran"),
    "RO": ("Adrian", "Andrei", "Bogdan", "Cristian", "Ionuț", "Marius", "Mihai", "Vlad"),
    "RS": ("Dušan", "Marko", "Miloš", "Nemanja", "Nikola", "Stefan", "Vladimir", "Uroš"),
}
FAMILY: dict[str, tuple[str, ...]] = {
    "AL": ("Hoxha", "Shehu", "Leka", "Dervishi", "Kola", "Bregu", "Çela", "Gjoka", "Muça"),
    "XK": ("Krasniqi", "Gashi", "Berisha", "Morina", "Shala", "Hoti", "Bytyqi", "Kastrati"),
    "BA": ("Hodžić", "Hadžić", "Begić", "Delić", "Kovačević", "Mehić", "Osmanović", "Salihović"),
    "BG": ("Ivanova", "Petrova", "Georgieva", "Dimitrova", "Nikolova", "Todorova", "Stoyanova"),
    "MK": ("Stojanovska", "Petrovska", "Nikolovska", "Jovanovska", "Trajkovska", "Ristovska"),
    "RO": ("Popescu", "Ionescu", "Dumitru", "Stan", "Stoica", "Gheorghe", "Munteanu", "Matei"),
    "RS": ("Jovanović", "Petrović", "Nikolić", "Marković", "Đorđević", "Stojanović", "Ilić"),
}
LANGUAGES = {"AL": "sq", "XK": "sq", "BA": "bs", "BG": "bg", "MK": "mk", "RO": "ro", "RS": "sr"}
