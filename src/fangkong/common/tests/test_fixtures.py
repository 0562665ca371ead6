from fangkong.people import idnumber


def test_people_fixture_has_valid_id_numbers(people):
    for person in people["a"] + people["b"] + people["c"]:
        birth, sex = idnumber.parse(person.document_number)
        assert birth == person.birth_date
        assert sex == person.sex
    assert people["a"][0].jpath == "/320000/320100/320102/320102001/320102001001/320102001001G01/"
