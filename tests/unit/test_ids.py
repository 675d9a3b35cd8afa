from relance.ids import new_id


def test_ids_made_in_one_process_sort_in_creation_order_even_within_a_millisecond():
    made = [new_id("inv") for _ in range(2000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_an_id_is_its_prefix_and_a_26_character_ulid():
    prefix, ulid = new_id("cus").split("_")
    assert prefix == "cus"
    assert len(ulid) == 26
