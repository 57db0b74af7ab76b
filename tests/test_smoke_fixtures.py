def test_demo_service_indexes_every_demo_photo(demo_service):
    info = demo_service.info()
    assert info.points == 45
    assert len(info.categories) == 8
