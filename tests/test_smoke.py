async def test_organisation_round_trip(client):
    from tests.builders import organisation

    created = await organisation(client, org_id="GB-CHC-1107583")
    response = await client.get("/v1/organisations/GB-CHC-1107583")
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
