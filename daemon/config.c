/* config: placeholder until written */
