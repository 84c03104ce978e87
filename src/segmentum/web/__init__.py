"""The dashboard (layer 7, interface): server-rendered pages over the read models, in English, Ukrainian and Russian."""
